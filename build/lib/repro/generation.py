"""Sampling and log-probabilities with HF transformers, shared by pair building and evaluation.

One implementation so that preference pairs and evaluation samples are drawn the same way
(same GenerationSpec) from any policy folder OpenRLHF saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from repro.chat import chat_prompt
from repro.spec import GenerationSpec


@dataclass
class Sample:
    prompt_index: int
    prompt: str
    response: str
    prompt_ids: list[int]
    response_ids: list[int]


def load_policy(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    # On a GPU node (cluster evals of 7-8B policies) sample on the GPU in bf16; on CPU in fp32, so the
    # tiny worlds' samples stay bit-identical to what they always were.
    if torch.cuda.is_available():
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation="sdpa").cuda()
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model, tokenizer


def _cut_at_eos(ids: list[int], eos_id: int, pad_id: int) -> list[int]:
    out = []
    for t in ids:
        if t == pad_id and t != eos_id:
            break
        out.append(t)
        if t == eos_id:
            break
    return out


@torch.no_grad()
def sample(model, tokenizer, prompts: list[str], n: int, gen: GenerationSpec, seed: int,
           chat_template: bool = False) -> list[Sample]:
    """n samples per prompt; responses end at (and include) the first EOS. With chat_template (the run's
    RunSpec.uses_chat_template) each prompt is generated from as one user turn of the tokenizer's template,
    as the OpenRLHF stages format it; Sample.prompt stays the raw prompt, prompt_ids are the templated ones."""
    torch.manual_seed(seed)
    tokenizer.padding_side = "left"
    # Templates carry their own BOS text, hence no special tokens added either way (as in OpenRLHF).
    texts = [chat_prompt(tokenizer, p) for p in prompts] if chat_template else prompts
    jobs = [(i, p) for i, p in enumerate(prompts) for _ in range(n)]
    out: list[Sample] = []
    for start in range(0, len(jobs), gen.batch_size):
        batch = jobs[start:start + gen.batch_size]
        enc = tokenizer([texts[i] for i, _ in batch], return_tensors="pt", padding=True,
                        add_special_tokens=False).to(model.device)
        seqs = model.generate(
            **enc, do_sample=True, temperature=gen.temperature, top_k=gen.top_k or None, top_p=gen.top_p,
            max_new_tokens=gen.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        width = enc["input_ids"].shape[1]
        for row, (i, p) in enumerate(batch):
            prompt_ids = enc["input_ids"][row][enc["attention_mask"][row].bool()].tolist()
            resp = _cut_at_eos(seqs[row, width:].tolist(), tokenizer.eos_token_id, tokenizer.pad_token_id)
            text = tokenizer.decode(resp, skip_special_tokens=True)
            out.append(Sample(i, p, text, prompt_ids, resp))
    return out


@torch.no_grad()
def response_logprob(model, samples: list[Sample], batch_size: int = 64) -> torch.Tensor:
    """Sum of log pi(response token | prefix) per sample (right-padded batches)."""
    sums = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start:start + batch_size]
        seqs = [s.prompt_ids + s.response_ids for s in batch]
        width = max(map(len, seqs))
        ids = torch.zeros(len(seqs), width, dtype=torch.long)
        mask = torch.zeros(len(seqs), width, dtype=torch.long)
        target = torch.zeros(len(seqs), width, dtype=torch.bool)
        for r, (s, seq) in enumerate(zip(batch, seqs)):
            ids[r, : len(seq)] = torch.tensor(seq)
            mask[r, : len(seq)] = 1
            target[r, len(s.prompt_ids): len(seq)] = True
        ids, mask, target = ids.to(model.device), mask.to(model.device), target.to(model.device)
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        sums.append((logp * target[:, 1:]).sum(-1).cpu())
    return torch.cat(sums) if sums else torch.zeros(0)

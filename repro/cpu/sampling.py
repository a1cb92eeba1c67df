"""Sampling that gives every request the same tokens however requests are batched (CPU rollout engine).

The CPU engine batches whichever requests arrive within a few milliseconds, so batch composition depends
on timing. Two things would otherwise follow it into the samples: the random stream (one global generator
consumed row by row) and the numerics (a row's logits change in the last bits with the batch's shape).
Here each request samples from its own generator, seeded from the run's seed, its prompt tokens and how
many times that prompt was asked for before; and every forward pass has one fixed shape (ROW_BLOCK rows,
prompts left-padded to one fixed width), so a row's arithmetic depends on its own tokens only. Padding
rows repeat a real prompt and are dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

# Rows of every forward pass: requests are generated in blocks of this many (the last block padded).
ROW_BLOCK = 32
# Prompt width when the engine is not told its longest prompt: prompts are left-padded to a multiple.
WIDTH_BUCKET = 64


def request_seed(run_seed: int, prompt_ids: list[int], occurrence: int) -> int:
    """A 63-bit seed for one request: the run's seed, the prompt's tokens, and its occurrence index (the
    n samples of one prompt are occurrences 0..n-1)."""
    digest = hashlib.sha256(f"{run_seed}|{occurrence}|{','.join(map(str, prompt_ids))}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def prompt_width(longest: int, max_model_len: int | None, max_tokens: int) -> int:
    """Fixed left-padded width: the engine's prompt budget (max_model_len - max_tokens) when known, else the
    next multiple of WIDTH_BUCKET; never less than the longest prompt (which then alone decides it)."""
    budget = (max_model_len - max_tokens) if max_model_len and max_model_len > max_tokens else 0
    bucketed = -(-longest // WIDTH_BUCKET) * WIDTH_BUCKET
    return max(longest, budget or bucketed)


def blocks(n: int, size: int = ROW_BLOCK) -> list[range]:
    """Row ranges of size `size` covering n requests: 0..31, 32..63, ..., the last one possibly short."""
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float) -> torch.Tensor:
    """Temperature, top-k and top-p (nucleus) on (rows, vocab) logits, row by row; removed entries become -inf.
    Temperature 0 means greedy (vLLM's convention): the logits stay unscaled and the caller takes the argmax."""
    if temperature > 0:
        logits = logits / temperature
    if top_k and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p  # keep the token that crosses top_p
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(-1, order, drop), float("-inf"))
    return logits


@dataclass
class Sampled:
    tokens: list[int]
    logprobs: list[float]
    finish_reason: str


@torch.no_grad()
def generate_block(model, prompts: list[list[int]], generators: list[torch.Generator], *, width: int,
                   max_tokens: int, min_tokens: int, temperature: float, top_k: int | None, top_p: float,
                   pad: int, eos: int | None, rows: int = ROW_BLOCK) -> list[Sampled]:
    """Sample up to max_tokens for each prompt, in one fixed-shape (rows x width) left-padded batch with a
    KV cache. Returns one Sampled per prompt: tokens up to and including EOS, the log-probability of each
    under the filtered distribution (vLLM's processed logprobs), and 'stop' or 'length'."""
    n = len(prompts)
    assert 0 < n <= rows and len(generators) == n
    device = next(model.parameters()).device  # the GPU's forward passes, the CPU's generators (logits move)
    padded = prompts + [prompts[0]] * (rows - n)
    ids = torch.full((rows, width), pad, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for row, prompt in enumerate(padded):
        ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt):] = 1
    ids, mask = ids.to(device), mask.to(device)
    finished = [False] * n
    results = [Sampled([], [], "length") for _ in range(n)]
    past, step_ids = None, ids
    for step in range(max_tokens):
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -step_ids.shape[1]:]
        out = model(input_ids=step_ids, attention_mask=mask, position_ids=positions, past_key_values=past,
                    use_cache=True)
        past = out.past_key_values
        logits = out.logits[:, -1, :].float().cpu()
        if eos is not None and step < min_tokens:
            logits[:, eos] = float("-inf")
        filtered = filter_logits(logits, temperature, top_k, top_p)
        logprobs = torch.log_softmax(filtered, dim=-1)
        chosen = torch.full((rows,), pad, dtype=torch.long)
        for row in range(n):
            if finished[row]:
                continue
            token = (int(torch.argmax(logprobs[row])) if temperature <= 0
                     else int(torch.multinomial(logprobs[row].exp(), 1, generator=generators[row])))
            chosen[row] = token
            results[row].tokens.append(token)
            results[row].logprobs.append(float(logprobs[row, token]))
            if token == eos:
                finished[row], results[row].finish_reason = True, "stop"
        if all(finished):
            break
        step_ids = chosen.unsqueeze(1).to(device)
        mask = torch.cat([mask, torch.ones((rows, 1), dtype=torch.long, device=device)], dim=1)
    return results

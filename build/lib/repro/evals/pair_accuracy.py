"""Preference accuracy of a scalar model on held-out pairs: does it score chosen above rejected?

One implementation for the reward model (its reward at the last token) and the global value
model (its value at the last response token), so both are judged on the same pairs the same
way. Run as a stage: `python -m repro.evals.pair_accuracy --model M --kind reward|critic
--pairs pairs_test.jsonl --out report.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def last_token_scores(model, tokenizer, texts: list[str], kind: str, batch_size: int = 32) -> torch.Tensor:
    """Score of each text at its final token (right padding). `kind` is OpenRLHF's model type."""
    scores = []
    tokenizer.padding_side = "right"
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        with torch.no_grad():
            if kind == "reward":
                scores.append(model(ids, attention_mask=mask).float())
            else:
                # Critic values are V(s_t) for every position but the last; the last response
                # token's value sits at index (length - 2).
                action_mask = mask[:, 1:]
                values = model(ids, action_mask=action_mask, attention_mask=mask).float()
                last = mask.sum(-1) - 2
                scores.append(values.gather(1, last.clamp(min=0).unsqueeze(1)).squeeze(1))
    return torch.cat(scores)


def pair_text(tokenizer, prompt: str, response: str, chat_template: bool) -> str:
    """The text a scalar model scores: raw prompt + response, or the chat-templated turn pair the model
    was trained on (model.chat_template; repro/chat.py)."""
    if not chat_template:
        return prompt + response
    from repro.chat import chat_prompt, chat_response

    return chat_prompt(tokenizer, prompt) + chat_response(tokenizer, prompt, response)


def score_pairs(model, tokenizer, pairs: list[dict], kind: str,
                chat_template: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Last-token scores of prompt + chosen and of prompt + rejected, one row per pair."""
    texts = {side: [pair_text(tokenizer, p["prompt"], p[side], chat_template) for p in pairs]
             for side in ("chosen", "rejected")}
    return (last_token_scores(model, tokenizer, texts["chosen"], kind),
            last_token_scores(model, tokenizer, texts["rejected"], kind))


def pair_accuracy(model, tokenizer, pairs: list[dict], kind: str, chat_template: bool = False) -> dict:
    chosen, rejected = score_pairs(model, tokenizer, pairs, kind, chat_template)
    margin = chosen - rejected
    return {
        "accuracy": float((margin > 0).float().mean()),
        "margin_mean": float(margin.mean()),
        "chosen_mean": float(chosen.mean()),
        "rejected_mean": float(rejected.mean()),
        "n_pairs": len(pairs),
    }


def load_scalar_model(path: str, kind: str):
    from openrlhf.models import get_llm_for_sequence_regression
    from transformers import AutoConfig, AutoTokenizer

    prefix = getattr(AutoConfig.from_pretrained(path), "value_head_prefix", "score")
    model = get_llm_for_sequence_regression(path, kind, attn_implementation="eager", param_dtype="bf16",
                                            value_head_prefix=prefix)
    model.float().eval()  # bf16 weights, scored in fp32
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--kind", choices=["reward", "critic"], required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--prefix", required=True, help="metric namespace in the run record, e.g. 'rm'")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chat-template", action="store_true", help="score chat-templated text (model.chat_template)")
    args = ap.parse_args(argv)
    from repro.store import atomic_write_json, read_jsonl

    model, tokenizer = load_scalar_model(args.model, args.kind)
    scores = pair_accuracy(model, tokenizer, read_jsonl(Path(args.pairs)), args.kind, args.chat_template)
    metrics = {f"{args.prefix}/pair_{k}": v for k, v in scores.items()}
    atomic_write_json(Path(args.out), {"metrics": metrics})
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()

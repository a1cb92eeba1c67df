"""Preference pairs: samples of the SFT policy per train prompt, two of them labelled by the gold reward.

Which two (`pairing`): the first two drawn, or the gold-best and gold-worst of the prompt's samples.

Labels follow Bradley-Terry with a temperature T: P(a preferred) = sigmoid((g_a - g_b) / T),
so T is the label-noise knob (T = 0 gives noiseless labels).
Run as a stage: python -m repro.worlds.imdb.pairs --world DIR --policy DIR --pairs JSON
--generation JSON --seed N --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from repro.spec import GenerationSpec, PairsSpec
from repro.store import atomic_write_json, read_jsonl, write_jsonl
from repro.worlds import PairFiles, WorldFiles
from repro.worlds.imdb.gold import GoldReward


def prefer_first(g_a: float, g_b: float, temperature: float, rng: random.Random) -> bool:
    """Bradley-Terry label: True when response a is labelled chosen."""
    if temperature == 0:
        return g_a >= g_b
    z = max(-60.0, min(60.0, (g_a - g_b) / temperature))
    return rng.random() < 1.0 / (1.0 + math.exp(-z))


def select_pair(golds: list[float], pairing: str) -> tuple[int, int]:
    """Indices of the two samples that form a prompt's pair (ties keep the earlier sample)."""
    if pairing == "first_two":
        return 0, 1
    best = max(range(len(golds)), key=lambda i: (golds[i], -i))
    worst = min(range(len(golds)), key=lambda i: (golds[i], i))
    return (best, worst) if best != worst else (0, 1)


def label_pairs(prompts: list[str], responses: list[tuple[str, str]], golds: list[tuple[float, float]],
                temperature: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for prompt, (a, b), (g_a, g_b) in zip(prompts, responses, golds):
        first = prefer_first(g_a, g_b, temperature, rng)
        (c, gc), (r, gr) = ((a, g_a), (b, g_b)) if first else ((b, g_b), (a, g_a))
        rows.append({"prompt": prompt, "chosen": c, "rejected": r, "gold_chosen": gc, "gold_rejected": gr})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--policy", type=Path, required=True)
    ap.add_argument("--pairs", required=True, help="PairsSpec as JSON")
    ap.add_argument("--generation", required=True, help="GenerationSpec as JSON")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    spec = PairsSpec.model_validate_json(args.pairs)
    gen = GenerationSpec.model_validate_json(args.generation)

    from repro.generation import load_policy, sample

    world, out = WorldFiles(args.world), PairFiles(args.out)
    prompts = [r["prompt"] for r in read_jsonl(world.prompts_train)]
    model, tokenizer = load_policy(args.policy)
    samples = sample(model, tokenizer, prompts, spec.samples_per_prompt, gen, args.seed)
    gold = GoldReward.load(world.gold)
    scores = gold.score([s.prompt + s.response for s in samples]).tolist()
    by_prompt: dict[int, list] = {}
    for s, g in zip(samples, scores):
        by_prompt.setdefault(s.prompt_index, []).append((s, g))
    firsts, golds = [], []
    for i in range(len(prompts)):
        group = by_prompt[i]
        a, b = select_pair([g for _, g in group], spec.pairing)
        firsts.append((group[a][0], group[b][0]))
        golds.append((group[a][1], group[b][1]))
    rows = label_pairs(prompts, [(a.response, b.response) for a, b in firsts], golds, spec.label_temperature,
                       args.seed)

    n_test = max(1, int(len(rows) * spec.test_fraction))
    train, test = rows[n_test:], rows[:n_test]
    write_jsonl(out.train, train)
    write_jsonl(out.test, test)
    tokens = sum(len(a.prompt_ids) * 2 + len(a.response_ids) + len(b.response_ids) for a, b in firsts[n_test:])
    atomic_write_json(out.stats, {"pairs_train": {"rows": len(train), "tokens": tokens},
                                  "pairs_test": {"rows": len(test)}})
    agree = sum(r["gold_chosen"] >= r["gold_rejected"] for r in rows) / len(rows)
    gap = sum(abs(r["gold_chosen"] - r["gold_rejected"]) for r in rows) / len(rows)
    generated = sum(len(s.response_ids) for s in samples)
    atomic_write_json(out.report, {"metrics": {"data/pair_label_agreement": agree, "data/pair_gold_gap": gap},
                                   "tokens": generated})
    print(json.dumps({"train": len(train), "test": len(test), "label_agreement": agree}, indent=2))


if __name__ == "__main__":
    main()

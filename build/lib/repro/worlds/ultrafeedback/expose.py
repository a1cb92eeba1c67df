"""The UltraFeedback pairs stage: expose the pairs the world stage prepared, after checking them.

UltraFeedback's pairs come from the data, not from sampling the SFT policy, so this stage samples
nothing: it links the world's pair files into its own folder (where RM, GVM and DPO look for them) and
refuses to pass on pairs that lack a field or share a prompt with the RL or test prompts. With
--chat-template it also writes the message-list copies that RM and DPO read then (repro/chat.py).
Run as a stage: python -m repro.worlds.ultrafeedback.expose --world DIR --out DIR [--chat-template]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from repro.chat import chat_pair_row
from repro.store import atomic_write_json, read_jsonl, write_jsonl
from repro.worlds import PairFiles, WorldFiles
from repro.worlds.ultrafeedback.prepare import pair_files

PAIR_KEYS = ("prompt", "chosen", "rejected")


def check_pairs(train: list[dict], test: list[dict], held_out_prompts: set[str]) -> list[str]:
    """Every problem that makes the pairs unfit for training; empty when they are fit."""
    problems = []
    for name, rows in (("pairs_train", train), ("pairs_test", test)):
        if not rows:
            problems.append(f"{name} is empty")
        bad = sum(1 for r in rows if not all(isinstance(r.get(k), str) and r[k] for k in PAIR_KEYS))
        if bad:
            problems.append(f"{name}: {bad} rows lack a non-empty prompt, chosen or rejected")
        leaked = {r.get("prompt") for r in rows} & held_out_prompts
        if leaked:
            problems.append(f"{name}: {len(leaked)} prompts are also RL or test prompts")
    if {r["prompt"] for r in train} & {r["prompt"] for r in test}:
        problems.append("pairs_train and pairs_test share prompts")
    return problems


def expose(world: WorldFiles, out: PairFiles, chat_template: bool = False) -> dict:
    source = pair_files(world)
    train, test = read_jsonl(source.train), read_jsonl(source.test)
    held_out = {r["prompt"] for path in (world.prompts_train, world.prompts_test) for r in read_jsonl(path)}
    problems = check_pairs(train, test, held_out)
    if problems:
        raise SystemExit("UltraFeedback pairs are not fit for training:\n  " + "\n  ".join(problems))
    out.root.mkdir(parents=True, exist_ok=True)
    for src, dst in ((source.train, out.train), (source.test, out.test), (source.stats, out.stats)):
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        os.symlink(src.resolve(), dst)
    if chat_template:
        for rows, split in ((train, "train"), (test, "test")):
            write_jsonl(out.reward_dataset(split, chat_template=True), [chat_pair_row(r) for r in rows])
    margin = sum(r["score_chosen"] - r["score_rejected"] for r in train) / len(train)
    report = {"metrics": {"data/pairs_train": len(train), "data/pairs_test": len(test),
                          "data/pair_score_margin": margin}, "tokens": 0}
    atomic_write_json(out.report, report)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chat-template", action="store_true", help="also write the pairs as message lists")
    args = ap.parse_args()
    print(json.dumps(expose(WorldFiles(args.world), PairFiles(args.out), args.chat_template), indent=2))


if __name__ == "__main__":
    main()

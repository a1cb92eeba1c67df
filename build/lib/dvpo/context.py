"""Trajectory conditioning (the paper's tau): the GVM reads k question-answer trajectories of the behaviour
policy as context before the prompt it values. Pure functions on token ids, shared by GVM training
(dvpo/gvm/train.py) and the frozen GVM actor (dvpo/frozen_value.py), so both build the same kind of input.

A conditioned input is `context + prompt + response`; values are trained and read on the response tokens
only. Context trajectories never share the scored sample's prompt (so never its own pair, nor a sibling
answer to the same question), are drawn with a seeded generator, and are added whole, in draw order, while
they fit in the token budget.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch


def draw_context(pool_prompts: Sequence[str], exclude_prompt: str, k: int, rng: random.Random) -> list[int]:
    """Indices of k pool trajectories (fewer if the pool has fewer) whose prompt is not `exclude_prompt`."""
    eligible = [i for i, p in enumerate(pool_prompts) if p != exclude_prompt]
    return rng.sample(eligible, min(k, len(eligible)))


def pack_context(trajectories: Sequence[Sequence[int]], budget: int) -> tuple[list[int], int]:
    """The trajectories' ids concatenated, whole ones only, in order, while the total fits in `budget`;
    and how many fit. A trajectory that does not fit ends the context (later ones are not tried), so the
    context is always a prefix of the draw."""
    ids: list[int] = []
    used = 0
    for trajectory in trajectories:
        if len(ids) + len(trajectory) > budget:
            break
        ids += list(trajectory)
        used += 1
    return ids, used


def conditioned(context: Sequence[int], prompt_ids: Sequence[int], response_ids: Sequence[int]) -> tuple[list[int], int]:
    """`context + prompt + response` and the index of the first response token: everything before it (the
    context and the prompt) is read, never scored."""
    return [*context, *prompt_ids, *response_ids], len(context) + len(prompt_ids)


def batch_contexts(sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_width: int, k: int, budget: int,
                   generator: torch.Generator, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Context for each row of a rollout micro-batch from the other rows (the current policy's own
    trajectories): k rows whose prompt tokens differ from the row's, drawn with `generator`, each taken as its
    real (attended) tokens and packed under `budget`. Returns the left-padded context block, its attention
    mask (to be put before `sequences` and `attention_mask`; the original columns stay where they are, so
    values are read at the same positions) and how many trajectories each row got."""
    rows = sequences.size(0)
    real = [sequences[i][attention_mask[i].bool()].tolist() for i in range(rows)]
    prompts = [tuple(sequences[i, :prompt_width][attention_mask[i, :prompt_width].bool()].tolist()) for i in range(rows)]
    contexts, used = [], []
    for i in range(rows):
        others = [j for j in range(rows) if prompts[j] != prompts[i]]
        order = torch.randperm(len(others), generator=generator).tolist()[:k]
        ids, n = pack_context([real[others[o]] for o in order], budget)
        contexts.append(ids)
        used.append(n)
    width = max((len(c) for c in contexts), default=0)
    block = torch.full((rows, width), pad_id, dtype=sequences.dtype)
    mask = torch.zeros((rows, width), dtype=attention_mask.dtype)
    for i, ids in enumerate(contexts):
        if ids:
            block[i, width - len(ids):] = torch.tensor(ids, dtype=sequences.dtype)
            mask[i, width - len(ids):] = 1
    return block, mask, used

"""Pure conversions from UltraFeedback rows to this harness's rows: one prompt, one chosen, one rejected.

Both real formats are read. The binarized one (HuggingFaceH4/ultrafeedback_binarized) already holds a
chosen and a rejected conversation; the raw one (openbmb/UltraFeedback) holds four rated completions
that are binarized here by the usual UltraFeedback rule (see `binarize_raw`). A row that cannot give a
clean pair is not repaired: it becomes a `Dropped` with the reason, and the reasons are counted in stats.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Example:
    """A prompt with its preferred and dispreferred response and their scores (higher is better)."""

    prompt: str
    chosen: str
    rejected: str
    score_chosen: float
    score_rejected: float

    def pair_row(self) -> dict:
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected,
                "score_chosen": self.score_chosen, "score_rejected": self.score_rejected}

    def sft_row(self) -> dict:
        return {"prompt": self.prompt, "response": self.chosen}


@dataclass(frozen=True)
class Dropped:
    reason: str


def as_score(value: Any) -> float | None:
    """A finite float from a score field (numbers or numeric strings like "4"); None for "N/A", null, NaN."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def render_context(messages: list[dict]) -> str:
    """The prompt text of the turns before the final assistant reply.

    A single user turn is its content verbatim (the usual UltraFeedback prompt); longer contexts keep
    every turn, role-tagged, ending with an open assistant turn, so no earlier turn is lost."""
    if len(messages) == 1 and messages[0].get("role") == "user":
        return messages[0]["content"]
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(turns + ["Assistant:"])


def split_conversation(messages: Any) -> tuple[str, str] | None:
    """(prompt, final assistant reply) of a message list; None when it does not end in an assistant reply."""
    if not isinstance(messages, list) or len(messages) < 2:
        return None
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") for m in messages):
        return None
    *context, last = messages
    if last["role"] != "assistant" or context[-1]["role"] == "assistant":
        return None
    return render_context(context), last["content"]


def from_binarized(row: dict) -> Example | Dropped:
    """A HuggingFaceH4/ultrafeedback_binarized row -> Example. Ties and missing scores are dropped, and
    so are pairs whose chosen and rejected conversations do not share the same context."""
    chosen, rejected = split_conversation(row.get("chosen")), split_conversation(row.get("rejected"))
    if chosen is None or rejected is None:
        return Dropped("malformed_messages")
    if chosen[0] != rejected[0]:
        return Dropped("context_mismatch")
    if not chosen[1].strip() or not rejected[1].strip():
        return Dropped("empty_response")
    s_c, s_r = as_score(row.get("score_chosen")), as_score(row.get("score_rejected"))
    if s_c is None or s_r is None:
        return Dropped("missing_score")
    if s_c == s_r:
        return Dropped("tie")
    if s_c < s_r:
        return Dropped("chosen_scored_lower")
    return Example(chosen[0], chosen[1], rejected[1], s_c, s_r)


def _aspect_rating(annotation: Any) -> float | None:
    # openbmb/UltraFeedback stores an aspect as {"Rating": "4", ...}, or as a one-element list of it.
    if isinstance(annotation, list):
        annotation = annotation[0] if annotation else None
    return as_score(annotation.get("Rating")) if isinstance(annotation, dict) else None


def completion_score(completion: dict) -> float | None:
    """The score UltraFeedback's binarization ranks by: the mean of the four fine-grained aspect ratings
    (`fine-grained_score`, or recomputed from `annotations` when absent); None when nothing is rated."""
    score = as_score(completion.get("fine-grained_score"))
    if score is not None:
        return score
    annotations = completion.get("annotations")
    ratings = [r for r in map(_aspect_rating, annotations.values())] if isinstance(annotations, dict) else []
    ratings = [r for r in ratings if r is not None]
    return sum(ratings) / len(ratings) if ratings else None


def binarize_raw(row: dict, rng: random.Random) -> Example | Dropped:
    """An openbmb/UltraFeedback row -> Example: the highest-scored completion is chosen (the first of
    several equal best ones), a uniformly random completion scored strictly lower is rejected; a row
    with no strictly lower completion (all tied) is dropped, as are unscored or empty completions."""
    prompt = row.get("instruction")
    if not isinstance(prompt, str) or not prompt.strip():
        return Dropped("missing_prompt")
    scored = [(completion_score(c), c.get("response")) for c in row.get("completions") or [] if isinstance(c, dict)]
    scored = [(s, r) for s, r in scored if s is not None and isinstance(r, str) and r.strip()]
    if len(scored) < 2:
        return Dropped("fewer_than_two_scored")
    best_score = max(s for s, _ in scored)
    best = next(r for s, r in scored if s == best_score)
    lower = [(s, r) for s, r in scored if s < best_score]
    if not lower:
        return Dropped("tie")
    s_r, rejected = rng.choice(lower)
    return Example(prompt, best, rejected, best_score, s_r)


def prompt_of(row: dict, fmt: str) -> str | None:
    """The prompt text a row contributes to the prompt split (RL and test prompts need no pair)."""
    if fmt == "raw":
        prompt = row.get("instruction")
        return prompt if isinstance(prompt, str) and prompt.strip() else None
    conv = split_conversation(row.get("chosen"))
    if conv is not None:
        return conv[0]
    prompt = row.get("prompt")
    return prompt if isinstance(prompt, str) and prompt.strip() else None


def to_example(row: dict, fmt: str, rng: random.Random) -> Example | Dropped:
    return binarize_raw(row, rng) if fmt == "raw" else from_binarized(row)

"""What a finished stage reports beyond the sampler: token counts, its report JSON, loss curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

from repro.stages import Stage


def read_report(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def token_count(stage: Stage) -> float | None:
    """Tokens from a stats file (e.g. the world's data stats times epochs), or the stage's report."""
    if stage.tokens:
        stats = read_report(Path(stage.tokens.stats_file))
        entry = stats.get(stage.tokens.key, {})
        return entry["tokens"] * stage.tokens.multiplier if "tokens" in entry else None
    if stage.report:
        return read_report(Path(stage.report)).get("tokens")
    return None


def rollout_tokens(train: dict) -> float | None:
    """Tokens an RL stage processed: prompt + response tokens of every rollout sample, from
    OpenRLHF's per-step train/total_length (mean per sample) and train/rollout/num_samples."""
    lengths, samples = train.get("train/total_length"), train.get("train/rollout/num_samples")
    if not lengths or not samples or not lengths["values"] or not samples["values"]:
        return None
    mean = lambda s: sum(s["values"]) / len(s["values"])  # noqa: E731 (series may be downsampled)
    return mean(lengths) * mean(samples) * lengths["n"]


def summarize_tensorboard(tb_dir: Path) -> dict:
    """First/last/min of each scalar series OpenRLHF logged (e.g. train/loss_mean)."""
    return summarize_events(scalar_events(tb_dir)) if tb_dir.is_dir() else {}


def summarize_events(events) -> dict:
    """summarize_tensorboard over events already read (scalar_events): a caller needing them twice reads once."""
    series: dict[str, list[float]] = {}
    for tag, _, _, value in events:
        series.setdefault(tag, []).append(value)
    out = {}
    for tag, values in sorted(series.items()):
        finite = [v for v in values if math.isfinite(v)]
        out[tag] = {"n": len(values), "first": values[0], "last": values[-1],
                    "min": min(finite) if finite else None, "all_finite": len(finite) == len(values),
                    "values": values[:: max(1, len(values) // 50)]}
    return out


def scalar_events(tb_dir: Path):
    """Every scalar event under a tensorboard folder: (tag, step, wall time, value), folder by folder, each tag's
    events in order. One accumulator per folder: it reads every event file there in order, and when a resumed
    stage logs a step again it keeps the later events (purge_orphaned_data), so a resume leaves one curve."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for folder in sorted({p.parent for p in tb_dir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            for e in acc.Scalars(tag):
                yield tag, e.step, e.wall_time, e.value


def step_wall_times(tb_dir: Path) -> dict[int, float]:
    """When each logged step ended (seconds since the epoch): the latest wall time of any scalar at that step.
    OpenRLHF logs a step's scalars once the step is done, so this is the step's end as the trainer saw it."""
    return step_ends(scalar_events(tb_dir))


def step_ends(events) -> dict[int, float]:
    """step_wall_times over events already read (scalar_events)."""
    ends: dict[int, float] = {}
    for _, step, wall, _ in events:
        ends[step] = max(ends.get(step, 0.0), wall)
    return ends


def step_history(tb_dir: Path) -> dict[int, dict[str, float]]:
    """Every logged scalar by step (a resumed stage's later value of a step wins)."""
    history: dict[int, dict[str, float]] = {}
    for tag, step, _, value in scalar_events(tb_dir):
        history.setdefault(step, {})[tag] = value
    return dict(sorted(history.items()))

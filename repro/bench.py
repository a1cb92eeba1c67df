"""`repro bench`: run methods one after the other from a fresh results root and compare time and memory.

Each method runs every stage (nothing reused from earlier runs), under the same sampler and
environment, so the numbers are side by side from one invocation. CPU numbers are labelled CPU.
The second table is the paper's Table 3 (memory per GPU, time per step, DVPO/PPO ratios).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from repro.launch.local import LocalLauncher
from repro.runs import open_record, plan_run
from repro.store import RunRecord, StageRecord
from repro.tables.build import logged_step_time_s, peak_memory_mib


@dataclass
class BenchRow:
    method: str
    device: str
    total_wall_s: float
    record: RunRecord
    step_gaps_s: list[float] = field(default_factory=list)  # logged_step_gaps of the training stage
    params: int | None = None  # parameters of the base policy, from the world's stats

    @property
    def peak_rss_mib(self) -> float:
        return max(s.metrics.peak_rss_mib for s in self.record.stages if s.metrics)

    @property
    def peak_pss_mib(self) -> float:
        return max(s.metrics.peak_pss_mib or 0.0 for s in self.record.stages if s.metrics)

    def stage_wall(self) -> dict[str, float]:
        return {s.name: s.metrics.wall_s for s in self.record.stages if s.metrics}

    def train_stage(self) -> StageRecord | None:
        from repro.registry import METHODS

        name = METHODS.get(self.method).train_stage
        return next((s for s in self.record.stages if s.name == name and s.metrics), None)

    def train_series(self, tag: str) -> list[float]:
        stage = self.train_stage()
        return stage.train.get(tag, {}).get("values", []) if stage else []

    def step_time_s(self) -> float | None:
        """Mean seconds per step of the training stage, without its first step when there are more (it
        includes the rollout engine's and the optimizers' warm-up, which would dominate a few-step benchmark).
        RL methods: OpenRLHF's timing/step_total per RL iteration (rollout + experience + training). Trainers
        that log no timing (DPO): the gaps between their logged optimiser steps, which start after the first."""
        stage = self.train_stage()
        timed = logged_step_time_s(stage) if stage else None
        if timed is not None:
            return timed
        return sum(self.step_gaps_s) / len(self.step_gaps_s) if self.step_gaps_s else None

    def response_tokens(self) -> float | None:
        """Mean rollout response length: equal across methods when generation lengths are fixed."""
        lengths = self.train_series("train/rollout/response_length_mean")
        return sum(lengths) / len(lengths) if lengths else None


def logged_step_gaps(tb_dir: Path, tag: str = "train/loss_mean") -> list[float]:
    """Seconds between a trainer's consecutive optimiser steps, from the wall-clock times of the tensorboard
    events it writes once per step (OpenRLHF's DPO/RM/SFT trainers, logging_steps 1). The first gap starts
    when the first step ends, so the warm-up step is left out."""
    if not tb_dir.is_dir():
        return []
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = []
    for run_dir in sorted({p.parent for p in tb_dir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
        acc.Reload()
        if tag in acc.Tags().get("scalars", []):
            events += acc.Scalars(tag)
    times = [e.wall_time for e in sorted(events, key=lambda e: e.step)]
    return [b - a for a, b in zip(times, times[1:])]


def world_params(plan) -> int | None:
    """Parameters of the base policy the world built (imdb: stats.json's base_model.params)."""
    from repro.worlds import WorldFiles

    world = next((s for s in plan.stages if s.name == "world"), None)
    stats = WorldFiles(Path(world.workdir)).stats if world else None
    if stats is None or not stats.is_file():
        return None
    return json.loads(stats.read_text()).get("base_model", {}).get("params")


def bench(methods: list[str], recipe: str, seed: int | None, overrides: tuple[str, ...],
          keep_root: Path | None = None) -> list[BenchRow]:
    from repro.registry import METHODS

    rows = []
    for method in methods:
        root = keep_root / method if keep_root else Path(tempfile.mkdtemp(prefix=f"repro-bench-{method}-"))
        plan = plan_run(method, recipe, seed, overrides, root)
        record = open_record(plan, "local")
        t0 = time.perf_counter()
        LocalLauncher(record, plan.layout.record_path).run(plan.stages)
        wall = time.perf_counter() - t0
        train = next((s for s in plan.stages if s.name == METHODS.get(method).train_stage), None)
        gaps = logged_step_gaps(Path(train.tensorboard_dir)) if train and train.tensorboard_dir else []
        rows.append(BenchRow(method, plan.spec.resources.device, wall, record, gaps, world_params(plan)))
        if keep_root is None:
            # The record is in memory; a paper-size method leaves ~100 GB of checkpoints behind otherwise.
            shutil.rmtree(root, ignore_errors=True)
    return rows


def render_markdown(rows: list[BenchRow], command: str) -> str:
    # Stage columns in pipeline order: take the longest pipeline's order first.
    ordered = sorted(rows, key=lambda r: -len(r.stage_wall()))
    stages = list(dict.fromkeys(name for r in ordered for name in r.stage_wall()))
    device = ", ".join(sorted({r.device.upper() for r in rows}))
    head = ["method", "total s", *[f"{s} s" for s in stages], "peak RSS MiB", "peak PSS MiB", "gold reward", "win vs SFT"]
    lines = [f"Measured on {device} with: `{command}`", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        walls = r.stage_wall()
        m = r.record.metrics
        cells = [r.method, f"{r.total_wall_s:.1f}", *[f"{walls[s]:.1f}" if s in walls else "-" for s in stages],
                 f"{r.peak_rss_mib:.0f}", f"{r.peak_pss_mib:.0f}", f"{m.get('gold/reward_mean', float('nan')):.3f}",
                 f"{m.get('gold/win_rate_vs_sft', float('nan')):.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + render_table3(rows)


def _ratio(value: float | None, reference: float | None) -> str:
    return f"{value / reference:.2f}" if value and reference else "-"


def _number(value: float | None, fmt: str) -> str:
    return format(value, fmt) if value is not None else "-"


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def render_table3(rows: list[BenchRow]) -> str:
    """The training stage alone in the paper's Table 3 layout (memory per GPU, time per step), with ratios to
    PPO when it ran (else to the first method). On CPU the memory is the stage's peak PSS instead."""
    ref = next((r for r in rows if r.method == "ppo"), rows[0])
    gpu = all(r.device == "gpu" for r in rows)
    memory, unit, scale = ("memory/GPU", "GiB", 1024.0) if gpu else ("peak PSS", "MiB", 1.0)

    def peak(r: BenchRow) -> float | None:
        stage = r.train_stage()
        return peak_memory_mib(stage.metrics) if stage else None

    params = {r.params for r in rows if r.params}
    model = f", {_count(params.pop())}-parameter policy" if len(params) == 1 else ""
    head = ["method", "train stage", f"{memory} {unit}", "s/step", f"{memory} / {ref.method}",
            f"s/step / {ref.method}", "stage s", "response tokens"]
    lines = [f"Training stage alone, the paper's Table 3 layout ({'GPU' if gpu else 'CPU'}{model}):", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        stage, mem, step = r.train_stage(), peak(r), r.step_time_s()
        cells = [r.method, stage.name if stage else "-", _number(mem / scale if mem else None, ".2f" if gpu else ".0f"),
                 _number(step, ".2f"), _ratio(mem, peak(ref)), _ratio(step, ref.step_time_s()),
                 _number(stage.metrics.wall_s if stage else None, ".1f"), _number(r.response_tokens(), ".0f")]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        f"{memory}: " + ("peak NVML memory used on the stage's busiest GPU" if gpu else
                         "peak proportional set size of the stage's whole process tree (CPU, not a GPU proxy)"),
        "s/step: mean after the first (warm-up) step; RL methods: OpenRLHF's timing/step_total per RL iteration "
        "(rollout, experience, training); DPO: wall-clock gaps between its logged optimiser steps",
        "the paper's steps-to-converge column has no counterpart: a few-step benchmark does not converge",
    ]
    engines = sorted({r.record.rollout_engine for r in rows if r.record.rollout_engine})
    if engines:  # a preallocated KV cache is in every RL method's memory peak and pulls the ratios towards 1
        notes.append("rollout engine: " + " | ".join(engines))
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"

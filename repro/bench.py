"""`repro bench`: run methods one after the other from a fresh results root and compare time and memory.

Each method runs every stage (nothing reused from earlier runs), under the same sampler and
environment, so the numbers are side by side from one invocation. CPU numbers are labelled CPU.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from repro.launch.local import LocalLauncher
from repro.runs import open_record, plan_run
from repro.store import RunRecord


@dataclass
class BenchRow:
    method: str
    device: str
    total_wall_s: float
    record: RunRecord

    @property
    def peak_rss_mib(self) -> float:
        return max(s.metrics.peak_rss_mib for s in self.record.stages if s.metrics)

    @property
    def peak_pss_mib(self) -> float:
        return max(s.metrics.peak_pss_mib or 0.0 for s in self.record.stages if s.metrics)

    def stage_wall(self) -> dict[str, float]:
        return {s.name: s.metrics.wall_s for s in self.record.stages if s.metrics}

    def train_stage(self):
        from repro.registry import METHODS

        name = METHODS.get(self.method).train_stage
        return next(s for s in self.record.stages if s.name == name)

    def step_time_s(self) -> float | None:
        """Mean seconds per RL iteration from OpenRLHF's timing/step_total (RL methods only),
        without the first iteration when there are more: it includes the rollout engine's and
        the optimizers' warm-up, which a few-step benchmark would otherwise be dominated by."""
        return steady_mean(self.train_stage().train.get("train/timing/step_total", {}).get("values", []))


def steady_mean(values: list[float]) -> float | None:
    steady = values[1:] if len(values) > 1 else values
    return sum(steady) / len(steady) if steady else None


def bench(methods: list[str], recipe: str, seed: int | None, overrides: tuple[str, ...],
          keep_root: Path | None = None) -> list[BenchRow]:
    rows = []
    for method in methods:
        root = keep_root / method if keep_root else Path(tempfile.mkdtemp(prefix=f"repro-bench-{method}-"))
        plan = plan_run(method, recipe, seed, overrides, root)
        record = open_record(plan, "local")
        t0 = time.perf_counter()
        LocalLauncher(record, plan.layout.record_path).run(plan.stages)
        rows.append(BenchRow(method, plan.spec.resources.device, time.perf_counter() - t0, record))
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
    return "\n".join(lines) + "\n\n" + render_train_stage(rows)


def _ratio(value: float | None, reference: float | None) -> str:
    return f"{value / reference:.2f}" if value and reference else "-"


def render_train_stage(rows: list[BenchRow]) -> str:
    """The training stage alone (the paper's Table 3 quantities), with ratios to PPO when it ran
    (else to the first method): peak memory of the stage's whole process tree, s per iteration."""
    ref = next((r for r in rows if r.method == "ppo"), rows[0])
    ref_stage = ref.train_stage().metrics
    head = ["method", "train stage", "peak PSS MiB", "peak RSS MiB", "s/iteration (after the 1st)", "stage s",
            f"PSS / {ref.method}", f"RSS / {ref.method}", f"s/iteration / {ref.method}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        stage = r.train_stage()
        m = stage.metrics
        step = r.step_time_s()
        cells = [r.method, stage.name, f"{m.peak_pss_mib or 0:.0f}", f"{m.peak_rss_mib:.0f}",
                 f"{step:.2f}" if step else "-", f"{m.wall_s:.1f}", _ratio(m.peak_pss_mib, ref_stage.peak_pss_mib),
                 _ratio(m.peak_rss_mib, ref_stage.peak_rss_mib), _ratio(step, ref.step_time_s())]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

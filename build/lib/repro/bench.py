"""`repro bench`: run methods one after the other from a fresh results root and compare time and memory.

Each method runs every stage (nothing reused from earlier runs), under the same sampler and
environment, so the numbers are side by side from one invocation. CPU numbers are labelled CPU.
The tables (every stage; the paper's Table 3 layout with DVPO/PPO ratios) are built and rendered by
repro.tables like every other table (repro/tables/bench.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from repro.launch.local import run_stages
from repro.metrics.summary import scalar_events
from repro.runs import open_record, plan_run
from repro.tables.bench import BenchRow, bench_tables
from repro.tables.render import to_markdown


def logged_step_gaps(tb_dir: Path, tag: str = "train/loss_mean") -> list[float]:
    """Seconds between a trainer's consecutive optimiser steps, from the wall-clock times of the tensorboard
    events it writes once per step (OpenRLHF's DPO/RM/SFT trainers, logging_steps 1). The first gap starts
    when the first step ends, so the warm-up step is left out."""
    if not tb_dir.is_dir():
        return []
    events = sorted(((step, wall) for name, step, wall, _ in scalar_events(tb_dir) if name == tag),
                    key=lambda e: e[0])
    times = [wall for _, wall in events]
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
    rows = []
    for method in methods:
        root = keep_root / method if keep_root else Path(tempfile.mkdtemp(prefix=f"repro-bench-{method}-"))
        plan = plan_run(method, recipe, seed, overrides, root)
        record = open_record(plan, "local")
        t0 = time.perf_counter()
        run_stages(plan.stages, record, plan.layout.record_path)
        wall = time.perf_counter() - t0
        train = next((s for s in plan.stages if s.name == plan.train_stage), None)
        gaps = logged_step_gaps(Path(train.tensorboard_dir)) if train and train.tensorboard_dir else []
        rows.append(BenchRow(method, plan.spec.resources.device, wall, record, gaps, world_params(plan)))
        if keep_root is None:
            # The record is in memory; a paper-size method leaves ~100 GB of checkpoints behind otherwise.
            shutil.rmtree(root, ignore_errors=True)
    return rows


def render_markdown(rows: list[BenchRow], command: str) -> str:
    return "\n".join(to_markdown(t) for t in bench_tables(rows, command))

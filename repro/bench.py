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

from repro.envinfo import machine_facts
from repro.launch.local import run_stages
from repro.metrics.summary import scalar_events
from repro.runs import open_record, plan_run
from repro.store import atomic_write_json, load_record
from repro.tables.bench import BenchRow, bench_tables
from repro.tables.build import hardware_of, machine_label
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


ROW_FILE = "bench-row.json"


def finished_row(root: Path, plan) -> BenchRow | None:
    """A method this bench already measured under `root` (--keep): its row, when the run completed with the same
    run id (same spec). A bench of every method outlives a session; a re-run measures only what is missing."""
    row_file = root / ROW_FILE
    if not row_file.is_file() or not plan.layout.record_path.is_file():
        return None
    saved = json.loads(row_file.read_text())
    record = load_record(plan.layout.record_path)
    if saved.get("run_id") != plan.layout.run_id or record.status != "completed":
        return None
    if hardware_of(record) != machine_label(machine_facts()):  # kept on another machine kind: measure it here
        return None
    record.extra_passes = plan.extra_passes or {}  # declared by the method's code, as a resumed run refreshes it
    return BenchRow(plan.method, plan.spec.resources.device, saved["total_wall_s"], record,
                    saved.get("step_gaps_s", []), world_params(plan))


def bench(methods: list[str], recipe: str, seed: int | None, overrides: tuple[str, ...],
          keep_root: Path | None = None) -> list[BenchRow]:
    rows = []
    for method in methods:
        root = keep_root / method if keep_root else Path(tempfile.mkdtemp(prefix=f"repro-bench-{method}-"))
        plan = plan_run(method, recipe, seed, overrides, root)
        if keep_root and (row := finished_row(root, plan)):
            rows.append(row)
            continue
        if keep_root:
            # A method interrupted half-way starts over: every stage of a row is timed from scratch in one go.
            shutil.rmtree(root, ignore_errors=True)
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
        elif record.status == "completed":
            atomic_write_json(root / ROW_FILE, {"run_id": plan.layout.run_id, "total_wall_s": wall,
                                                "step_gaps_s": gaps})
    return rows


def render_markdown(rows: list[BenchRow], command: str) -> str:
    return "\n".join(to_markdown(t) for t in bench_tables(rows, command))

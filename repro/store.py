"""Run records: one pydantic RunRecord per run, written atomically as record.json.

Schema-versioned like lm-eval's results files: the resolved spec, environment, file
fingerprints, per-stage command/metrics/status and the evaluation metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1

StageStatus = Literal["pending", "submitted", "running", "completed", "skipped", "failed", "interrupted", "cancelled"]
RunStatus = Literal["pending", "submitted", "running", "completed", "failed", "interrupted", "cancelled"]


class RoleUsage(BaseModel):
    """One role's share of a stage (repro/metrics/roles.py): the driver, actor, critic, rollout engine..."""

    peak_pss_mib: float = Field(description="peak of the role's processes' summed PSS")
    peak_gpu_mib: float | None = Field(None, description="peak of the role's processes' summed NVML memory (GPU)")
    cpu_s: float = Field(description="user + system CPU-seconds of the role's processes")
    cpu_s_steady: float | None = Field(None, description="CPU-seconds between the ends of the stage's first and "
                                                         "last logged steps (start-up and warm-up left out)")


class StageMetrics(BaseModel):
    """Measured the same way for every stage of every method (repro/metrics)."""

    device: Literal["cpu", "gpu"] = Field(description="cpu numbers are never mixed with gpu numbers")
    wall_s: float = Field(description="wall-clock seconds of the stage's process tree")
    peak_rss_mib: float = Field(description="peak summed RSS of the stage's whole process tree")
    peak_pss_mib: float | None = Field(None, description="peak summed PSS (shared pages split between processes)")
    peak_gpu_mem_mib: dict[str, float] = Field({}, description="per GPU index: peak NVML memory used")
    peak_gpu_proc_mib: float | None = Field(None, description="peak GPU memory of the tree's processes (NVML)")
    tokens: float | None = Field(None, description="tokens processed, where the stage reports them")
    tokens_per_s: float | None = Field(None, description="tokens / wall_s")
    samples: int = Field(0, description="number of sampler readings")
    pss_samples: int | None = Field(None, description="readings that included PSS (a PSS walk is costly, so it is "
                                                      "read less often in large processes: repro/metrics/sampler.py)")
    sampler_cpu_s: float | None = Field(None, description="CPU-seconds the sampler itself used (not in cpu_s)")
    cpu_s: float | None = Field(None, description="user + system CPU-seconds of the whole process tree")
    roles: dict[str, RoleUsage] = Field({}, description="per role (driver, actor, reference, critic, gvm, "
                                                       "reward_model, rollout, trainer, ray, other)")
    steady_steps: int | None = Field(None, description="logged steps that roles' cpu_s_steady covers (all but the "
                                                       "first); None: fewer than two steps logged")


class StageRecord(BaseModel):
    name: str
    status: StageStatus = "pending"
    shared: bool = False
    workdir: str
    command: str = Field("", description="the command line as run (shell-quoted)")
    key: str = Field("", description="hash of argv, env and input contents; equal key => skip on re-run")
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: int | None = None
    job_id: str | None = Field(None, description="Slurm job id (array tasks: <array>_<task>)")
    metrics: StageMetrics | None = None
    train: dict[str, Any] = Field({}, description="summary of the stage's training curves (tensorboard)")
    log_tail: str = Field("", description="last lines of the log when the stage failed")
    resumed_from: str | None = Field(None, description="the stage's own checkpoint it continued from (e.g. "
                                                       "global_step2) after a stop; None = it started at step 0")
    machine: dict[str, Any] = Field({}, description="where the stage ran, taken at its start (envinfo."
                                                   "machine_facts: cpu, cpu_flags, cpu_bf16_matmul, cpu_count, "
                                                   "gpus); {} in records older than the field")


class RunOwner(BaseModel):
    """The local launcher process running a run: a record left 'running' by a dead owner is reclaimed."""

    host: str = Field(description="hostname of the launcher's machine")
    pid: int = Field(description="the launcher's process id")
    started: float = Field(description="the launcher's process start time (seconds since the epoch), so a "
                                       "recycled pid is not mistaken for it")


class CurvePoint(BaseModel):
    """One point of a learning curve (eval.every_steps): the policy saved after `step` training steps."""

    step: int = Field(description="training steps (RL iterations, or optimiser steps for DPO); 0 = the SFT start")
    samples: int = Field(description="samples seen by then: rollouts for RL methods, preference pairs for DPO")
    wall_s: float | None = Field(description="seconds since the training stage started (None: not logged)")
    metrics: dict[str, float] = Field(description="the curve evaluators' metrics for that policy")


class RunRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    method: str
    recipe: str
    setting: str
    seed: int
    status: RunStatus = "pending"
    launcher: str = "local"
    owner: RunOwner | None = Field(None, description="the local launcher running this run, while it runs")
    created_at: str
    updated_at: str
    spec: dict[str, Any]
    env: dict[str, Any] = Field({}, description="the latest invocation's launcher environment (env.json); where "
                                               "each stage ran is stages[].machine")
    train_stage: str | None = Field(None, description="the method's own training stage (efficiency tables)")
    rollout_engine: str | None = Field(None, description="rollout engine and its memory preallocation, if any")
    variant: dict[str, Any] = Field({}, description="what the resolved spec changes against the recipe as shipped "
                                                   "(dotted keys; seed and variant-neutral keys left out)")
    extra_passes: dict[str, float] = Field({}, description="forward passes per sample the method adds to the "
                                                           "analytic model's count, by role (Method.extra_passes)")
    fingerprints: dict[str, str] = Field({}, description="content hashes of base model and data files")
    stages: list[StageRecord] = []
    metrics: dict[str, float] = Field({}, description="evaluation scores, keys evaluator/metric")
    curve: list[CurvePoint] = Field([], description="learning curve, by step (eval.every_steps); [] = none asked")

    def stage(self, name: str) -> StageRecord:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


def merge_curves(old: list[CurvePoint], new: list[CurvePoint]) -> list[CurvePoint]:
    """One curve from several curve evaluators' points: points of one step share samples and wall-clock and
    pool their metrics (a re-run's values replace the earlier ones)."""
    by_step = {p.step: p for p in old}
    for p in new:
        kept = by_step.get(p.step)
        by_step[p.step] = p if kept is None else kept.model_copy(update={"metrics": {**kept.metrics, **p.metrics}})
    return [by_step[s] for s in sorted(by_step)]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temp file in the same folder, fsync, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_record(record: RunRecord, path: Path) -> None:
    record.updated_at = now()
    atomic_write_text(path, record.model_dump_json(indent=2) + "\n")


def load_record(path: Path) -> RunRecord:
    return RunRecord.model_validate_json(path.read_text())


def hash_path(path: Path) -> str:
    """Content hash of a file, or of every file under a folder (relative names included)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"nothing to fingerprint at {path}")
    for f in files:
        h.update(str(f.relative_to(path) if f != path else f.name).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def list_records(results_root: Path) -> list[RunRecord]:
    """Every run's record under a results root (results/runs/*/record.json), in run-id order."""
    return [load_record(p) for p in sorted((results_root / "runs").glob("*/record.json"))]

"""Weights & Biases tracking of a run's stages (the recipe's `wandb` section), done by the stage runner.

After each stage (run now or reused), one W&B run per stage in the group of the run id, job type = the stage,
tagged with method, seed, setting and variant: the stage's training curves (its tensorboard scalars, by step),
a learning curve stage's points, and in the summary the sampler's time, memory (per role too) and CPU-seconds
and the stage's reported scores. Deterministic W&B ids (run id, stage, stage key) make a re-run resume the same
W&B run. Offline, the W&B run folders land under the stage's folder.

OpenRLHF's own W&B logging is not used: its SFT, RM and DPO trainers write tensorboard only when W&B is off,
and tensorboard is what the records and the learning curves read. The key (WANDB_API_KEY) is read by wandb
from the launching environment; nothing here passes it, so it reaches no argv, record, dry run or log.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rich.console import Console

from repro.metrics.summary import read_report, step_history
from repro.stages import Stage
from repro.store import RunRecord, StageRecord


def wandb_run_id(run_id: str, stage: str, key: str) -> str:
    return hashlib.sha256(f"{run_id}|{stage}|{key}".encode()).hexdigest()[:16]


def tags(record: RunRecord) -> list[str]:
    variant = ",".join(f"{k}={v}" for k, v in record.variant.items())
    return [t[:64] for t in (record.method, f"seed={record.seed}", record.setting, variant or "shipped")]


def summary(rec: StageRecord, report: dict) -> dict[str, float | str]:
    out: dict[str, float | str] = {"status": rec.status}
    m = rec.metrics
    if m is not None:
        for name in ("wall_s", "peak_rss_mib", "peak_pss_mib", "cpu_s", "tokens", "tokens_per_s"):
            if getattr(m, name) is not None:
                out[f"sampler/{name}"] = getattr(m, name)
        for role, usage in m.roles.items():
            out.update({f"roles/{role}/{k}": v for k, v in usage.model_dump().items() if v is not None})
    out.update(report.get("metrics", {}))
    return out


def log_stage(record: RunRecord, stage: Stage, rec: StageRecord, console: Console | None = None) -> None:
    mode = stage.env.get("REPRO_WANDB_MODE", "disabled")
    if mode == "disabled":
        return
    try:
        import wandb

        report = read_report(Path(stage.report)) if stage.report and Path(stage.report).is_file() else {}
        run = wandb.init(project=stage.env["REPRO_WANDB_PROJECT"], entity=stage.env.get("REPRO_WANDB_ENTITY"),
                         group=record.run_id, job_type=stage.name, name=f"{record.run_id}/{stage.name}",
                         id=wandb_run_id(record.run_id, stage.name, rec.key), resume="allow", tags=tags(record),
                         dir=stage.workdir, mode=mode, reinit="create_new",
                         config={"run_id": record.run_id, "method": record.method, "seed": record.seed,
                                 "setting": record.setting, "recipe": record.recipe, "variant": record.variant,
                                 "stage": stage.name, "shared": stage.shared, "command": rec.command},
                         settings=wandb.Settings(silent=True, console="off"))
        if stage.tensorboard_dir and Path(stage.tensorboard_dir).is_dir():
            for step, values in step_history(Path(stage.tensorboard_dir)).items():
                run.log(values, step=step)
        for point in report.get("curve", []):
            run.log({**point["metrics"], "curve/samples": point["samples"],
                     **({"curve/wall_s": point["wall_s"]} if point["wall_s"] is not None else {})}, step=point["step"])
        run.summary.update(summary(rec, report))
        run.finish()
    except Exception as exc:  # tracking must never cost a run its result
        if console:
            console.print(f"[yellow]W&B[/yellow]: could not log stage {stage.name}: {exc}")

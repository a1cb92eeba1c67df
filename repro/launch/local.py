"""The local launcher: every stage of a plan runs here as a subprocess, in dependency order."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from repro.errors import StageFailed
from repro.launch import Launcher
from repro.launch.stage_runner import StageRunner, check_requirements
from repro.runs import Plan, open_record, render_dry_run
from repro.stages import Stage, topological_order
from repro.store import RunRecord, StageRecord


def run_stages(stages: list[Stage], record: RunRecord, record_path: Path, console: Console | None = None,
               force: bool = False) -> RunRecord:
    """Run a pipeline here: every stage through the stage runner, the run's status kept in its record
    (completed, failed with the stage's log tail, or interrupted on Ctrl-C)."""
    runner = StageRunner(record, record_path, console, force=force)
    ordered = topological_order(stages)
    check_requirements(ordered)
    record.status = "running"
    for stage in ordered:
        runner.set_stage(StageRecord(name=stage.name, shared=stage.shared, workdir=stage.workdir,
                                     command=stage.command_line()))
    try:
        for stage in ordered:
            runner.run_stage(stage)
    except KeyboardInterrupt:
        record.status = "interrupted"
        runner.save()
        raise
    except StageFailed:
        record.status = "failed"
        runner.save()
        raise
    record.status = "completed"
    runner.save()
    return record


class LocalLauncher(Launcher):
    name = "local"
    description = "every stage on this machine, one after the other"

    def launch(self, plans: list[Plan], force: bool = False) -> list[RunRecord]:
        records = []
        for plan in plans:
            record = open_record(plan, self.name)
            self.console.print(f"run [bold]{plan.layout.run_id}[/bold] -> {plan.layout.run_dir}")
            records.append(run_stages(plan.stages, record, plan.layout.record_path, self.console, force))
        return records

    def dry_run(self, plans: list[Plan]) -> str:
        return "".join(render_dry_run(plan) for plan in plans)

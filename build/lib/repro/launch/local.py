"""The local launcher: every stage of a plan runs here as a subprocess, in dependency order.

Ctrl-C, SIGTERM and SIGHUP stop the running stage and leave the record 'interrupted'; a SIGKILL leaves the
stage to its watchdog (repro/launch/watchdog.py) and the record 'running' with a dead owner, which the
next launch of the run reclaims before it resumes.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil
from rich.console import Console

from repro.errors import Interrupted, StageFailed
from repro.launch import Launcher
from repro.launch.stage_runner import StageRunner, check_requirements, log_tail
from repro.runs import Plan, open_record, render_dry_run
from repro.stages import Stage, topological_order
from repro.store import RunOwner, RunRecord, StageRecord, now, save_record

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals_interrupt():
    """SIGTERM and SIGHUP (kill, timeout, a closed terminal) raise Interrupted, the Ctrl-C path, while a run
    runs here; the previous handlers come back after. Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def this_process() -> RunOwner:
    return RunOwner(host=socket.gethostname(), pid=os.getpid(), started=psutil.Process().create_time())


def owner_alive(owner: RunOwner) -> bool:
    if owner.host != socket.gethostname():
        return True  # another machine's process: not ours to judge
    try:
        return abs(psutil.Process(owner.pid).create_time() - owner.started) < 1.0
    except psutil.NoSuchProcess:
        return False


def reclaim_dead_run(record: RunRecord, record_path: Path, console: Console) -> bool:
    """A record still 'running' whose local launcher is gone (killed with SIGKILL, the machine rebooted):
    mark it and its running stages 'interrupted' with their log tails, so the resumed run starts clean."""
    if record.status != "running" or record.owner is None or owner_alive(record.owner):
        return False
    dead = record.owner.pid
    for s in record.stages:
        if s.status == "running":
            s.status, s.ended_at = "interrupted", now()
            s.log_tail = log_tail(Path(s.workdir) / "log.txt")
    record.status, record.owner = "interrupted", None
    save_record(record, record_path)
    console.print(f"[yellow]reclaimed[/yellow] {record.run_id}: its launcher (pid {dead}) died "
                  "mid-run; marked interrupted, resuming")
    return True


def run_stages(stages: list[Stage], record: RunRecord, record_path: Path, console: Console | None = None,
               force: bool = False) -> RunRecord:
    """Run a pipeline here: every stage through the stage runner, the run's status kept in its record
    (completed, failed with the stage's log tail, or interrupted on Ctrl-C)."""
    runner = StageRunner(record, record_path, console, force=force)
    ordered = topological_order(stages)
    check_requirements(ordered)
    record.status, record.owner = "running", this_process()
    for stage in ordered:
        runner.set_stage(StageRecord(name=stage.name, shared=stage.shared, workdir=stage.workdir,
                                     command=stage.command_line()))
    try:
        with stop_signals_interrupt():
            for stage in ordered:
                runner.run_stage(stage)
    except KeyboardInterrupt:
        record.status, record.owner = "interrupted", None
        runner.save()
        raise
    except StageFailed:
        record.status, record.owner = "failed", None
        runner.save()
        raise
    record.status, record.owner = "completed", None
    runner.save()
    return record


class LocalLauncher(Launcher):
    name = "local"
    description = "every stage on this machine, one after the other"

    def launch(self, plans: list[Plan], force: bool = False) -> list[RunRecord]:
        records = []
        for plan in plans:
            record = open_record(plan, self.name)
            reclaim_dead_run(record, plan.layout.record_path, self.console)
            self.console.print(f"run [bold]{plan.layout.run_id}[/bold] -> {plan.layout.run_dir}")
            records.append(run_stages(plan.stages, record, plan.layout.record_path, self.console, force))
        return records

    def dry_run(self, plans: list[Plan]) -> str:
        return "".join(render_dry_run(plan) for plan in plans)

"""The one stage runner: runs a stage as a subprocess and folds it into its run's record.

The local launcher's loop and every Slurm job (repro/launch/stage_job.py) run stages through it, so
a stage is measured, skipped, locked and recorded the same way wherever it runs. Each stage logs to
<workdir>/log.txt under the shared ResourceSampler. A stage whose key (argv, env, input contents)
matches a completed stage.json is skipped, so a re-run resumes; a training stage stopped part-way
continues from its own checkpoint (repro/launch/checkpoints.py). A failure or Ctrl-C leaves status and
log tail in the record, never a half-written file (records are written atomically). The stage holds its
folder's lock while it lives, and a watchdog stops it if this process is killed (repro/launch/watchdog.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from repro.envinfo import machine_facts
from repro.errors import MissingDependencyError, StageFailed
from repro.launch.build_locks import clear_stale_build_locks
from repro.launch.checkpoints import prepare_resume
from repro.launch.wandb_log import log_stage
from repro.metrics.sampler import ResourceSampler, steady_window
from repro.metrics.summary import read_report, rollout_tokens, scalar_events, step_ends, summarize_events, token_count
from repro.procgroup import stop_process_group
from repro.stages import Stage, env_prefix
from repro.store import (CurvePoint, RunRecord, StageRecord, atomic_write_text, hash_path, load_record, merge_curves,
                         now, save_record)
from repro.versions import OPENRLHF_VERSION

LOG_TAIL_LINES = 40
# Variables that differ between otherwise identical invocations (ports; the first node, rendezvous folder and
# node rank of a multi-node job, repro/launch/stage_job.py) are not part of the key: every node of a job, and a
# requeued job on other nodes, computes the first node's key for the same stage.
VOLATILE_ENV = {"MASTER_PORT", "MASTER_ADDR", "RAY_ADDRESS", "REPRO_STORE_DIR", "NODE_RANK", "RANK"}
TRACKING_ENV_PREFIX = "REPRO_WANDB_"  # tracking settings change no result: not part of the key either


def keyed_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(env.items()) if k not in VOLATILE_ENV and not k.startswith(TRACKING_ENV_PREFIX)}

INSTALL_HINTS = {
    "openrlhf": f"OpenRLHF is not installed: run `make install` (it installs openrlhf=={OPENRLHF_VERSION} with --no-deps "
    "plus requirements/openrlhf.txt)",
    "deepspeed": "DeepSpeed is not installed: run `make install` (DS_BUILD_OPS=0 pip install deepspeed==0.19.6)",
    "torch": "torch is not installed: run `make install` (pip install torch==2.13.0 for the CPU build)",
}


def check_requirements(stages: list[Stage]) -> None:
    missing = sorted({m for s in stages for m in s.requires if importlib.util.find_spec(m) is None})
    if missing:
        hints = [INSTALL_HINTS.get(m, f"python module '{m}' is missing: run `make install`") for m in missing]
        raise MissingDependencyError("\n".join(hints))


def with_own_tools_first(env: dict[str, str]) -> dict[str, str]:
    """The environment's own bin folder first on PATH, whichever shell launched the run: torch's JIT builds of
    DeepSpeed's ops call `ninja`, and two versions (the venv's pip wheel and a system package) read each other's
    .ninja_log as dirty, so runs launched with and without an activated venv rebuilt the shared ops in turn,
    minutes each, holding the build lock every stage waits on. Not part of the stage key."""
    own = os.path.dirname(sys.executable)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != own]
    return {**env, "PATH": os.pathsep.join([own, *parts])}


def stage_key(stage: Stage) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(stage.argv).encode())
    h.update(json.dumps(keyed_env(stage.env)).encode())
    for inp in stage.inputs:
        path = Path(inp)
        h.update(inp.encode())
        h.update(hash_path(path).encode() if path.exists() else b"<missing>")
    return h.hexdigest()[:16]


def completed_record(stage: Stage, key: str) -> StageRecord | None:
    marker = Path(stage.workdir) / "stage.json"
    if not marker.is_file():
        return None
    rec = StageRecord.model_validate_json(marker.read_text())
    return rec if rec.status == "completed" and rec.key == key else None


@contextmanager
def stage_lock(workdir: Path, console: Console | None = None):
    """Two runs sharing a stage (e.g. the same SFT) must not run it at once: the second waits, and says so.
    Yields the lock's file descriptor, which the stage process inherits and so holds while it lives."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if console:
                console.print(f"[yellow]waiting[/yellow]: {workdir.name} is being written by another run "
                              "(or by a stage still stopping)")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield fh.fileno()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def start_watchdog(pgid: int) -> tuple[subprocess.Popen, int]:
    """repro.launch.watchdog for the stage's process group; returns it and the pipe end this process keeps."""
    read_end, write_end = os.pipe()
    try:
        dog = subprocess.Popen([sys.executable, "-m", "repro.launch.watchdog", str(pgid)], stdin=read_end,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(read_end)
    return dog, write_end


def release_watchdog(watchdog: tuple[subprocess.Popen, int]) -> None:
    """The stage is over (or stopped here): tell the watchdog so, and let it exit."""
    from repro.launch.watchdog import DONE

    dog, write_end = watchdog
    try:
        os.write(write_end, DONE)
    finally:
        os.close(write_end)
    dog.wait(timeout=30)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# Stage processes running in this interpreter, so a Slurm requeue (USR2) can stop them.
RUNNING: set[subprocess.Popen] = set()


def stop_running_stages() -> None:
    for proc in list(RUNNING):
        stop_process_group(proc)


class StageRunner:
    """Runs stages of one run and keeps its record; `force` re-runs completed, unchanged stages too."""

    def __init__(self, record: RunRecord, record_path: Path, console: Console | None = None, force: bool = False,
                 keep_cancelled: bool = False):
        self.record = record
        self.record_path = record_path
        self.console = console or Console(stderr=True)
        self.force = force  # re-run stages even when a completed, unchanged one exists
        # Slurm jobs hold a copy of the record loaded before `repro cancel` wrote "cancelled";
        # their saves must not turn the user's cancel back into running or failed.
        self.keep_cancelled = keep_cancelled

    def save(self) -> None:
        if self.keep_cancelled and self.record_path.is_file() and load_record(self.record_path).status == "cancelled":
            self.record.status = "cancelled"
        save_record(self.record, self.record_path)

    def set_stage(self, rec: StageRecord) -> None:
        old = next((s for s in self.record.stages if s.name == rec.name), None)
        if old is not None and old.job_id:  # this run's own Slurm job id, even for a reused shared stage
            rec = rec.model_copy(update={"job_id": old.job_id})
        self.record.stages = [rec if s.name == rec.name else s for s in self.record.stages]
        if rec.name not in {s.name for s in self.record.stages}:
            self.record.stages.append(rec)
        self.save()

    def run_stage(self, stage: Stage) -> None:
        """Run one stage (or skip it if unchanged) and fold it into the record; raises StageFailed."""
        workdir = Path(stage.workdir)
        with stage_lock(workdir, self.console) as lock_fd:
            key = stage_key(stage)
            done = None if self.force else completed_record(stage, key)
            if done is not None:
                self.console.print(f"[dim]• {stage.name}: unchanged since {done.ended_at}, skipped[/dim]")
                self._absorb_outputs(stage, done)
                self.set_stage(done.model_copy(update={"status": "skipped"}))
                log_stage(self.record, stage, done, self.console)
                return
            resumed_from = prepare_resume(stage, key, fresh=self.force)
            rec = StageRecord(name=stage.name, shared=stage.shared, workdir=stage.workdir, key=key,
                              command=stage.command_line(), status="running", started_at=now(),
                              resumed_from=resumed_from, machine=machine_facts({**os.environ, **stage.env}))
            self.set_stage(rec)
            (workdir / "stage.json").unlink(missing_ok=True)
            if stage.tensorboard_dir and not resumed_from:  # a fresh run must not append to the last one's curves
                shutil.rmtree(stage.tensorboard_dir, ignore_errors=True)
            if resumed_from:
                self.console.print(f"[cyan]↻ {stage.name}: resuming from its checkpoint {resumed_from}[/cyan]")
            atomic_write_text(workdir / "command.sh", f"#!/usr/bin/env bash\n{env_prefix(stage)}{stage.command_line()}\n")
            rec = self._execute(stage, rec, lock_fd)
            atomic_write_text(workdir / "stage.json", rec.model_dump_json(indent=2) + "\n")
            self.set_stage(rec)
            if rec.status != "completed":
                log_stage(self.record, stage, rec, self.console)
                raise StageFailed(f"stage '{stage.name}' {rec.status} (exit {rec.exit_code}); "
                                  f"log: {workdir / 'log.txt'}\n{rec.log_tail}")
            self._absorb_outputs(stage, rec)
            log_stage(self.record, stage, rec, self.console)

    def _execute(self, stage: Stage, rec: StageRecord, lock_fd: int) -> StageRecord:
        workdir = Path(stage.workdir)
        log_path = workdir / "log.txt"
        env = with_own_tools_first({**os.environ, **stage.env})
        # A resumed stage appends: its log keeps what ran before the stop.
        with open(log_path, "a" if rec.resumed_from else "w") as log:
            if rec.resumed_from:
                log.write(f"\n=== repro: resumed from checkpoint {rec.resumed_from} at {rec.started_at} ===\n")
            for lock in clear_stale_build_locks(env.get("TORCH_EXTENSIONS_DIR")):
                log.write(f"=== repro: removed the stale build lock {lock} (left by a stopped stage) ===\n")
            log.flush()
            # The stage holds its folder's lock itself (pass_fds): while any copy of it lives, no other
            # run starts the same stage, even if this launcher was killed (one writer per stage folder).
            proc = subprocess.Popen(stage.argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=(lock_fd,))
            # From here on a stop signal (Interrupted) may land anywhere: everything that follows the start
            # of the stage is inside the try, so the stage is always stopped and recorded.
            watchdog = sampler = None
            try:
                RUNNING.add(proc)
                sampler = ResourceSampler(proc.pid, stage.resources.device)
                watchdog = start_watchdog(proc.pid)
                with sampler, self.console.status(f"{stage.name}") as status:
                    while proc.poll() is None:
                        status.update(f"[bold]{stage.name}[/bold]  {sampler.wall_s_so_far():6.0f} s  "
                                      f"peak RSS {sampler.peak_rss / 2**20:7.0f} MiB")
                        time.sleep(0.5)
            except KeyboardInterrupt:
                stop_process_group(proc)
                self._finish(rec, stage, sampler, "interrupted", proc.returncode)
                self.set_stage(rec)
                atomic_write_text(workdir / "stage.json", rec.model_dump_json(indent=2) + "\n")
                raise
            finally:
                RUNNING.discard(proc)
                if watchdog is not None:
                    release_watchdog(watchdog)
                if stage.resources.device == "cpu":
                    from repro.cpu.shm_cleanup import remove_orphaned_deepspeed_buffers

                    remove_orphaned_deepspeed_buffers()
        status = "completed" if proc.returncode == 0 else "failed"
        self._finish(rec, stage, sampler, status, proc.returncode)
        mark = "[green]✓[/green]" if status == "completed" else "[red]✗[/red]"
        m = rec.metrics
        self.console.print(f"{mark} {stage.name}: {m.wall_s:.1f} s, peak RSS {m.peak_rss_mib:.0f} MiB"
                           + (f", {m.tokens_per_s:.0f} tok/s" if m.tokens_per_s else ""))
        return rec

    def _finish(self, rec: StageRecord, stage: Stage, sampler: ResourceSampler | None, status: str, code) -> None:
        rec.status = status
        rec.exit_code = code
        rec.ended_at = now()
        steady = None
        if status == "completed" and stage.tensorboard_dir and Path(stage.tensorboard_dir).is_dir():
            events = list(scalar_events(Path(stage.tensorboard_dir)))  # read once: curves and step end times
            rec.train = summarize_events(events)
            steady = steady_window(step_ends(events))
        tokens = (token_count(stage) or rollout_tokens(rec.train)) if status == "completed" else None
        rec.metrics = sampler.metrics(tokens, steady) if sampler is not None else None  # None: stopped before sampling
        if status != "completed":
            rec.log_tail = log_tail(Path(stage.workdir) / "log.txt")

    def _absorb_outputs(self, stage: Stage, rec: StageRecord) -> None:
        """Fold a completed stage's report and fingerprints into the run record."""
        if stage.report:
            report = read_report(Path(stage.report))
            self.record.metrics.update(report.get("metrics", {}))
            if "curve" in report:
                self.record.curve = merge_curves(self.record.curve, [CurvePoint(**p) for p in report["curve"]])
        for name, path in stage.fingerprints.items():
            self.record.fingerprints[name] = hash_path(Path(path))
        self.save()


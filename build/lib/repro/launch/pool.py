"""Several local runs at once (`repro sweep --launcher local --jobs N`), each its own `repro run` process.

A run is admitted while fewer than N run, and the cores and memory its recipe asks for (resources.cpus,
resources.mem_gb) fit beside the running ones on this machine; the first run is always admitted, so a run
bigger than the machine still runs, alone. Runs that share a stage (the same SFT) wait on that stage's lock
and then skip it: shared stages are built once. Each child is a complete launcher (record, signals, resume);
SIGTERM or Ctrl-C here stops every child the same way, and a re-run of the sweep resumes each run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console


@dataclass(frozen=True)
class Job:
    name: str
    argv: list[str]
    cpus: int
    mem_gb: float
    log: Path


def admit(running: list[Job], job: Job, jobs: int, cores: int, mem_gb: float) -> bool:
    """Whether `job` may start beside `running` (see the module docstring)."""
    if not running:
        return True
    return (len(running) < jobs and sum(j.cpus for j in running) + job.cpus <= cores
            and sum(j.mem_gb for j in running) + job.mem_gb <= mem_gb)


def machine() -> tuple[int, float]:
    """Cores this process may use and total memory in GiB."""
    return len(os.sched_getaffinity(0)), psutil.virtual_memory().total / 2**30


def run_pool(jobs_list: list[Job], jobs: int, console: Console, poll_s: float = 0.5) -> dict[str, int]:
    """Run every job, at most `jobs` at once under admission, in order; returns name -> exit code."""
    cores, mem_gb = machine()
    pending, running, codes = deque(jobs_list), {}, {}
    try:
        while pending or running:
            while pending and admit(list(running.values()), pending[0], jobs, cores, mem_gb):
                job = pending.popleft()
                job.log.parent.mkdir(parents=True, exist_ok=True)
                with open(job.log, "ab") as log:
                    proc = subprocess.Popen(job.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                running[proc] = job
                console.print(f"started {job.name} (pid {proc.pid}; log {job.log})")
            for proc in [p for p in running if p.poll() is not None]:
                job = running.pop(proc)
                codes[job.name] = proc.returncode
                console.print(f"{'done' if proc.returncode == 0 else f'exit {proc.returncode}'}: {job.name}")
            time.sleep(poll_s)
    except BaseException:
        # Ctrl-C or SIGTERM: each child stops its stage and records 'interrupted' on SIGTERM.
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, job in running.items():
            codes[job.name] = proc.wait()
        raise
    return codes

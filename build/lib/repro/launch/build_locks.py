"""Stale locks of torch's JIT extension builds, cleared before a stage starts.

DeepSpeed's CPU ops (fused_adam, shm_comm) are built by torch.utils.cpp_extension, which creates a `lock` file in
the op's build folder while it checks or builds the op and deletes it when done; everyone else waits for the
file to go. A stage stopped inside that window leaves the file behind, and every later load of the op waits on
it forever: one stopped run used to hang every run after it without a word. The holder of a live lock runs
ninja (and the compiler) in that folder, so a lock is stale when no process works there and the lock is older
than the moment between taking it and starting ninja ever lasts. Age alone is not enough: a rebuild under load
takes minutes, and removing its lock fails it when it releases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psutil

QUIET_S = 120.0  # taking the lock, hashing sources, checking the compiler, writing build.ninja: seconds, even loaded


def working_dirs() -> set[str]:
    """Current directories of every process we may inspect."""
    dirs = set()
    for proc in psutil.process_iter():
        try:
            dirs.add(proc.cwd())
        except (psutil.Error, OSError):
            continue
    return dirs


def stale_build_locks(extensions_dir: Path, now: float, busy: Callable[[], set[str]] = working_dirs,
                      quiet_s: float = QUIET_S) -> list[Path]:
    """Lock files older than quiet_s in op folders where no process works."""
    locks = sorted(extensions_dir.glob("*/lock"))
    if not locks:
        return []
    dirs = busy()
    stale = []
    for lock in locks:
        try:
            age = now - lock.stat().st_mtime
        except FileNotFoundError:  # released while we looked
            continue
        if age > quiet_s and str(lock.parent.resolve()) not in dirs:
            stale.append(lock)
    return stale


def clear_stale_build_locks(extensions_dir: str | None) -> list[Path]:
    """Remove them; returns what was removed (for the stage log)."""
    if not extensions_dir or not Path(extensions_dir).is_dir():
        return []
    removed = []
    for lock in stale_build_locks(Path(extensions_dir), time.time()):
        lock.unlink(missing_ok=True)
        removed.append(lock)
    return removed

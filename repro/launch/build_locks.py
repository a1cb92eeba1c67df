"""Stale locks of torch's JIT extension builds, cleared before a stage starts.

DeepSpeed's CPU ops (fused_adam, shm_comm) are built by torch.utils.cpp_extension, which creates a `lock` file in
the op's build folder while it checks or builds the op (every load, even when nothing needs building) and
deletes it when done. A stage stopped inside that window leaves the file behind, and every later load of the op
waits on it forever: one stopped run used to hang every run after it without a word. A lock is stale when the
op's library is already built and the lock is older than an up-to-date check ever takes.
"""

from __future__ import annotations

import time
from pathlib import Path

STALE_AFTER_S = 120.0  # an up-to-date check takes well under a second; a first build of an op 1-4 minutes


def stale_build_locks(extensions_dir: Path, now: float, stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Lock files of ops whose library exists, untouched for longer than stale_after_s."""
    stale = []
    for lock in sorted(extensions_dir.glob("*/lock")):
        op = lock.parent
        try:
            age = now - lock.stat().st_mtime
        except FileNotFoundError:  # released while we looked
            continue
        if (op / f"{op.name}.so").is_file() and age > stale_after_s:
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

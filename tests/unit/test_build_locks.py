"""Stale JIT-build locks (repro/launch/build_locks.py): a stopped stage's leftover lock must not hang the next
stage, and a build in progress must keep its lock."""

import os
import time

from repro.launch.build_locks import STALE_AFTER_S, clear_stale_build_locks, stale_build_locks


def op_folder(root, name, built: bool, lock_age_s: float | None):
    op = root / name
    op.mkdir(parents=True)
    if built:
        (op / f"{name}.so").write_bytes(b"\x7fELF")
    if lock_age_s is not None:
        lock = op / "lock"
        lock.touch()
        old = time.time() - lock_age_s
        os.utime(lock, (old, old))
    return op


def test_only_old_locks_of_built_ops_are_stale(tmp_path):
    op_folder(tmp_path, "fused_adam", built=True, lock_age_s=STALE_AFTER_S + 60)       # left by a killed stage
    op_folder(tmp_path, "deepspeed_shm_comm", built=True, lock_age_s=5)              # a check in progress
    op_folder(tmp_path, "cpu_adam", built=False, lock_age_s=STALE_AFTER_S + 60)      # a first build in progress
    op_folder(tmp_path, "cpu_lion", built=True, lock_age_s=None)                      # no lock at all
    assert stale_build_locks(tmp_path, time.time()) == [tmp_path / "fused_adam" / "lock"]


def test_clearing_removes_the_stale_lock_and_keeps_the_rest(tmp_path):
    op_folder(tmp_path, "fused_adam", built=True, lock_age_s=3600)
    op_folder(tmp_path, "deepspeed_shm_comm", built=True, lock_age_s=1)
    assert clear_stale_build_locks(str(tmp_path)) == [tmp_path / "fused_adam" / "lock"]
    assert not (tmp_path / "fused_adam" / "lock").exists() and (tmp_path / "fused_adam" / "fused_adam.so").exists()
    assert (tmp_path / "deepspeed_shm_comm" / "lock").exists()
    assert clear_stale_build_locks(None) == [] and clear_stale_build_locks(str(tmp_path / "absent")) == []

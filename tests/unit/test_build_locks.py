"""Stale JIT-build locks (repro/launch/build_locks.py): a stopped stage's leftover lock must not hang the next
stage, a build in progress (ninja working in the op's folder) keeps its lock however long it takes, and every
stage finds its own environment's ninja first."""

import os
import subprocess
import time

from repro.launch.build_locks import QUIET_S, clear_stale_build_locks, stale_build_locks


def op_folder(root, name, lock_age_s: float | None):
    op = root / name
    op.mkdir(parents=True)
    (op / f"{name}.so").write_bytes(b"\x7fELF")
    if lock_age_s is not None:
        lock = op / "lock"
        lock.touch()
        old = time.time() - lock_age_s
        os.utime(lock, (old, old))
    return op


def test_old_locks_nobody_works_on_are_stale(tmp_path):
    op_folder(tmp_path, "fused_adam", lock_age_s=QUIET_S + 600)        # left by a killed stage
    op_folder(tmp_path, "deepspeed_shm_comm", lock_age_s=5)           # just taken: ninja not started yet
    rebuilding = op_folder(tmp_path, "cpu_adam", lock_age_s=QUIET_S + 600)  # a long rebuild: ninja works there
    op_folder(tmp_path, "cpu_lion", lock_age_s=None)                   # no lock at all
    assert stale_build_locks(tmp_path, time.time(), busy=lambda: {str(rebuilding.resolve())}) == [
        tmp_path / "fused_adam" / "lock"]


def test_a_live_process_in_the_folder_keeps_its_lock_until_it_ends(tmp_path):
    op = op_folder(tmp_path, "fused_adam", lock_age_s=3600)
    builder = subprocess.Popen(["sleep", "60"], cwd=op)  # stands in for ninja and the compiler
    try:
        assert clear_stale_build_locks(str(tmp_path)) == [] and (op / "lock").exists()
    finally:
        builder.kill()
        builder.wait()
    assert clear_stale_build_locks(str(tmp_path)) == [op / "lock"] and not (op / "lock").exists()
    assert (op / "fused_adam.so").exists()
    assert clear_stale_build_locks(None) == [] and clear_stale_build_locks(str(tmp_path / "absent")) == []


def test_stages_find_their_environments_own_ninja_first():
    import sys

    from repro.launch.stage_runner import with_own_tools_first

    own = os.path.dirname(sys.executable)
    env = with_own_tools_first({"PATH": f"/usr/local/bin:{own}:/usr/bin", "HOME": "/root"})
    assert env == {"PATH": f"{own}:/usr/local/bin:/usr/bin", "HOME": "/root"}
    assert with_own_tools_first({})["PATH"] == own

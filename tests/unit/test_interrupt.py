"""Stopping a local run: Ctrl-C, SIGTERM and SIGHUP stop the stage's process group and record 'interrupted';
after a SIGKILL of the launcher the stage's watchdog stops it, and the next launch reclaims the dead run and
resumes with one writer per stage folder."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from repro.store import load_record

# A run of two stages: `slow` sleeps (and spawns a grandchild, as Ray does), then `after` writes a file.
# The launcher starts with Python's own Ctrl-C handler even when the test runs as a background job of a
# non-interactive shell (`cmd &`), which inherits SIGINT ignored and would silently ignore the test's Ctrl-C.
SCRIPT = """
import signal, sys
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)
from repro.errors import Interrupted
from repro.launch.local import LocalLauncher, reclaim_dead_run, run_stages
from repro.spec import Resources
from repro.stages import Stage
from repro.store import RunRecord, load_record, now
from rich.console import Console
root, seconds = Path(sys.argv[1]), sys.argv[2]
path = root / "record.json"
rec = load_record(path) if path.exists() else RunRecord(run_id="r", method="m", recipe="x", setting="s", seed=0,
                                                        created_at=now(), updated_at=now(), spec={})
reclaim_dead_run(rec, path, Console(stderr=True))
child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(%s)"
slow = Stage(name="slow", argv=[sys.executable, "-c", child % seconds], resources=Resources(), workdir=str(root / "slow"))
after = Stage(name="after", argv=[sys.executable, "-c", f"open({str(root / 'after.txt')!r}, 'w')"],
              resources=Resources(), workdir=str(root / "after"), needs=["slow"])
try:
    run_stages([slow, after], rec, path, Console(stderr=True))
except KeyboardInterrupt as e:
    sys.exit(getattr(e, "exit_code", 130))
"""


def launch(root: Path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(root), str(seconds)], stderr=subprocess.PIPE,
                            text=True)


def stage_tree(launcher: subprocess.Popen, timeout_s: float = 30) -> list[psutil.Process]:
    """The stage's processes (the stage and its grandchild), once both run."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        kids = [p for p in psutil.Process(launcher.pid).children(recursive=True)
                if "watchdog" not in " ".join(p.cmdline())]
        if len(kids) >= 2:
            return kids
        time.sleep(0.2)
    pytest.fail("the stage never started")


def gone(procs: list[psutil.Process], timeout_s: float = 30) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_stops_the_stage_and_records_interrupted(tmp_path, sig, code):
    launcher = launch(tmp_path, 60)
    procs = stage_tree(launcher)
    os.kill(launcher.pid, sig)
    try:  # communicate, not wait: a launcher blocked on a full stderr pipe would look like a hang
        _, err = launcher.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        launcher.kill()
        tail = launcher.communicate()[1][-2000:]
        pytest.fail(f"the launcher did not stop within 90 s of signal {sig}; its stderr ends: {tail}")
    assert launcher.returncode == code, err[-2000:]
    assert gone(procs), "a stage process outlived the run"
    saved = load_record(tmp_path / "record.json")
    assert saved.status == "interrupted" and saved.stage("slow").status == "interrupted"
    assert saved.owner is None and saved.stage("after").status == "pending"


def test_after_sigkill_the_watchdog_stops_the_stage_and_the_next_launch_reclaims_and_resumes(tmp_path):
    launcher = launch(tmp_path, 60)
    procs = stage_tree(launcher)
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait(timeout=30)
    assert gone(procs), "the stage outlived its launcher's SIGKILL"
    dead = load_record(tmp_path / "record.json")
    assert dead.status == "running" and dead.owner is not None  # what SIGKILL leaves behind
    rerun = launch(tmp_path, 0)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "reclaimed r" in err
    done = load_record(tmp_path / "record.json")
    assert done.status == "completed" and (tmp_path / "after.txt").exists()
    assert json.loads((tmp_path / "slow" / "stage.json").read_text())["status"] == "completed"


def test_an_orphaned_stage_keeps_its_folder_locked_so_a_new_run_waits_for_it(tmp_path):
    """The watchdog is killed too (the worst case): the orphan still holds its stage's lock, so the next
    run waits instead of writing into the same folder beside it."""
    launcher = launch(tmp_path, 6)
    procs = stage_tree(launcher)
    dogs = [p for p in psutil.process_iter(["cmdline"]) if "repro.launch.watchdog" in " ".join(p.info["cmdline"] or [])
            and str(procs[0].pid) in (p.info["cmdline"] or [])]
    assert dogs, "no watchdog for the stage"
    for p in [*dogs, psutil.Process(launcher.pid)]:
        p.kill()
    launcher.wait(timeout=30)
    t0 = time.time()
    rerun = launch(tmp_path, 0)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "is being written by another run" in err
    orphan = next(p for p in procs if p.pid == procs[0].pid)
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
    assert time.time() - t0 > 2  # it waited for the orphan (6 s sleep) before re-running the stage
    for p in procs:  # the orphan's grandchild: nobody was left to stop it
        if p.is_running():
            p.kill()

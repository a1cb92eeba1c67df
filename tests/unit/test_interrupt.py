"""Ctrl-C during a stage: the stage's process group is stopped and the record says 'interrupted'."""

import os
import signal
import subprocess
import sys
import time

import psutil

from repro.store import load_record

SCRIPT = """
import sys
from repro.launch.local import run_stages
from repro.spec import Resources
from repro.stages import Stage
from repro.store import RunRecord, now
rec = RunRecord(run_id="r", method="m", recipe="x", setting="s", seed=0, created_at=now(), updated_at=now(), spec={})
stage = Stage(name="slow", argv=[sys.executable, "-c", "import time; time.sleep(60)"],
              resources=Resources(), workdir=sys.argv[1] + "/slow")
try:
    run_stages([stage], rec, __import__("pathlib").Path(sys.argv[1]) / "record.json")
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_stops_the_stage_and_records_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)])
    record = tmp_path / "record.json"
    deadline = time.time() + 30
    child = None
    while time.time() < deadline and child is None:
        time.sleep(0.2)
        kids = psutil.Process(proc.pid).children(recursive=True)
        child = kids[0] if kids else None
    assert child is not None, "the stage never started"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    saved = load_record(record)
    assert saved.status == "interrupted" and saved.stage("slow").status == "interrupted"

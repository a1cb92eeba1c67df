"""A real Slurm (slurm/local/*.sh) for the Slurm tests, started once per session in its 2-node mode (node1 and
node2 on the loopback): single-node jobs run on either node, multi-node jobs span both."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.store import load_record

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "slurm" / "local"
SLURM = ("--launcher", "slurm", "--profile", "local")
FINAL = {"completed", "failed", "cancelled"}
NODES = {**os.environ, "REPRO_SLURM_NODES": "2"}


@pytest.fixture(scope="session")
def slurm_cluster():
    for script in ("install.sh", "start.sh"):
        subprocess.run(["bash", str(SCRIPTS / script)], check=True, timeout=900, env=NODES)
    yield
    subprocess.run(["bash", str(SCRIPTS / "stop.sh")], check=False, timeout=120, env=NODES)


def repro(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPRO_RESULTS": str(root)}
    proc = subprocess.run([sys.executable, "-m", "repro.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    if check and proc.returncode != 0:
        pytest.fail(f"repro {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def wait_for(predicate, timeout_s: float = 600, what: str = "condition"):
    """Poll (never a fixed sleep) until predicate() returns a truthy value."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def sacct_state(job_id: str) -> str:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job_id],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        jid, _, state = line.partition("|")
        if jid == job_id:
            return state.split()[0] if state else ""
    return ""


def records(root: Path) -> list:
    return [load_record(p) for p in sorted((root / "runs").glob("*/record.json"))]


def wait_final(root: Path, n: int = 1, timeout_s: float = 600) -> list:
    return wait_for(lambda: (rs := records(root)) and len(rs) == n and all(r.status in FINAL for r in rs) and rs,
                    timeout_s, "the runs to finish")

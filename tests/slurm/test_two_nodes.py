"""Two nodes for real, on slurm/local's 2-node mode: DPO whose trainer stages (SFT, DPO) run one rank per node
over gloo, then DVPO whose GVM trains on both nodes and whose policy stage drives a Ray cluster with its head on
node1 and a worker on node2. Both complete with the records a single-node run has, every server they start
listens on the loopback, and nothing of theirs is left running."""

import re
import subprocess
import threading
from pathlib import Path

import psutil
import pytest

from tests.conftest import is_loopback
from tests.slurm.conftest import SLURM, records, repro, wait_final, wait_for

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]
# Two actor processes need two rollout micro-batches (the planner refuses fewer).
TWO_NODES = ("resources.nodes=2", "rl.rollout_micro_batch_size=16")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """One results root: DVPO reuses the world, SFT and pairs the 2-node DPO run built."""
    return tmp_path_factory.mktemp("two-nodes")


class ExposedListeners:
    """Every listening socket off the loopback that appears on the machine while a run is in flight."""

    def __init__(self):
        self.before = self._listening()
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def _listening() -> set[tuple[str, int, str]]:
        found = set()
        for c in psutil.net_connections("inet"):
            if c.status == psutil.CONN_LISTEN and not is_loopback(c.laddr.ip):
                try:
                    name = psutil.Process(c.pid).name() if c.pid else "?"
                except psutil.NoSuchProcess:
                    name = "?"
                found.add((c.laddr.ip, c.laddr.port, name))
        return found

    def _poll(self):
        while not self._stop.wait(0.5):
            self.seen |= {f"{ip}:{port} {name}" for ip, port, name in self._listening() - self.before}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def leftovers(root: Path) -> list[str]:
    """Processes of a run: anything naming its results folder, and any Ray daemon (none run between tests)."""
    found = []
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if str(root) in cmd or p.info["name"] in ("gcs_server", "raylet") or "repro.launch.ray_node" in cmd:
            found.append(f"{p.info['pid']} {cmd[:200]}")
    return found


def job_nodes(job_id: str) -> str:
    return subprocess.run(["sacct", "-n", "-X", "-P", "-o", "NodeList", "-j", job_id], capture_output=True,
                          text=True).stdout.strip()


def run_on_two_nodes(root: Path, method: str):
    with ExposedListeners() as exposed:
        repro("run", "--method", method, "--recipe", "imdb/smoke", *TWO_NODES, *SLURM, root=root)
        (rec,) = [r for r in wait_final(root, n=len(records(root)), timeout_s=900) if r.method == method]
    assert rec.status == "completed", [(s.name, s.status, s.log_tail[-1500:]) for s in rec.stages]
    assert not exposed.seen, sorted(exposed.seen)
    wait_for(lambda: not leftovers(root), 60, f"the {method} run's processes to be gone: {leftovers(root)}")
    return rec


def rank_lines(text: str) -> set[str]:
    """'rank R of W on NODE' from the CPU layer's line for each multi-process group member."""
    return set(re.findall(r"process group (rank \d+ of \d+ on node\d)", text))


def test_both_nodes_are_up_on_the_loopback():
    nodes = subprocess.run(["sinfo", "-h", "-N", "-p", "debug", "-o", "%N %T"], capture_output=True,
                           text=True).stdout.split("\n")
    assert sorted(line.split()[0] for line in nodes if line) == ["node1", "node2"], nodes
    slurmds = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "slurmd"]
    ports = {c.laddr for p in slurmds for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}
    assert len(slurmds) == 2 and len(ports) == 2 and all(is_loopback(a.ip) for a in ports), ports


def test_dpo_trains_with_one_gloo_rank_per_node(root):
    rec = run_on_two_nodes(root, "dpo")
    for name in ("sft", "dpo"):
        stage = rec.stage(name)
        assert job_nodes(stage.job_id) == "node[1-2]"
        job_dir = root / "runs" / rec.run_id / "slurm" / stage.job_id
        # Rank 0 runs in the recorded stage (its log), rank 1 on the second node (that task's own log).
        assert rank_lines((Path(stage.workdir) / "log.txt").read_text()) == {"rank 0 of 2 on node1"}
        assert rank_lines((job_dir / f"{stage.job_id}_1_log.out").read_text()) == {"rank 1 of 2 on node2"}
    assert rec.metrics["gold/reward_mean"] > 0


def test_dvpo_policy_runs_on_a_ray_cluster_spanning_both_nodes(root):
    rec = run_on_two_nodes(root, "dvpo")
    assert [s.status for s in rec.stages[:3]] == ["skipped"] * 3  # world, sft, pairs from the DPO run
    policy_dir = root / "runs" / rec.run_id / "stages" / "policy"
    assert job_nodes(rec.stage("policy").job_id) == "node[1-2]"
    for node in (1, 2):  # head on node1, worker on node2, both on the address they were given
        assert "Local node IP: 127.0.0.1" in strip_ansi((policy_dir / f"ray-node{node - 1}.log").read_text())
    # Model groups of two ranks each, with members placed on both nodes.
    ranks = rank_lines((policy_dir / "log.txt").read_text())
    assert {r.rsplit(" ", 1)[1] for r in ranks} == {"node1", "node2"}, ranks
    assert rec.metrics["gold/reward_mean"] > 0


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)

"""The multi-node Ray bootstrap for real: a head and a worker node (two raylets on this host, on
loopback), the GPU poll, and teardown by PID, exactly as a 2-node Slurm job runs them; every server
of that cluster listens on the loopback it was given (repro/launch/ray_node.py)."""

import time

import psutil
import pytest

from repro.launch import ray_cluster
from repro.launch.ray_cluster import RayBootstrap
from repro.netaddr import free_port
from tests.conftest import is_loopback

pytestmark = pytest.mark.integration


def tree(proc) -> list[psutil.Process]:
    try:
        root = psutil.Process(proc.pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def connections(proc: psutil.Process) -> list:
    try:
        return proc.net_connections("inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def test_head_and_worker_join_with_all_logical_gpus_and_stop_by_pid(tmp_path, monkeypatch):
    # Ray refuses a second node while this is set (the CPU layer sets it for single-node clusters).
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    boot = RayBootstrap("127.0.0.1", nodes=2, gpus_per_node=2, cpus_per_node=1, port=free_port(),
                        ray=ray_cluster.ray_cli())
    head = ray_cluster.start(boot.head_argv(), str(tmp_path / "head.log"))
    worker = None
    try:
        worker = ray_cluster.start(boot.worker_argv("127.0.0.1"), str(tmp_path / "worker.log"),
                                   ray_cluster.WORKER_ENV)
        seen = ray_cluster.wait_for_gpus(boot, timeout_s=180, poll_s=1.0, node_ip="127.0.0.1")
        assert seen == {"gpus": 4.0, "nodes": 2}
        started = tree(head) + tree(worker)
        assert len(started) > 2  # ray start, GCS, raylet, ...
        listening = {(c.laddr.ip, p.name()) for p in started for c in connections(p) if c.status == "LISTEN"}
        assert {"gcs_server", "raylet"} <= {name for _, name in listening}, listening
        assert all(is_loopback(ip) for ip, _ in listening), listening
    finally:
        ray_cluster.stop(head)
    # The worker's `ray start --block` exits by itself once the head is gone.
    worker.wait(timeout=120)
    ray_cluster.stop(worker)
    time.sleep(1)
    assert [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []

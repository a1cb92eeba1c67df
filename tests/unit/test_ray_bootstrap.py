"""Multi-node Ray bootstrap: commands, port choice and the GPU poll (hand cases, no cluster)."""

import sys

import pytest

from repro.errors import ReproError
from repro.launch.ray_cluster import RayBootstrap, bootstrap_for, wait_for_gpus


def test_head_and_worker_commands():
    boot = RayBootstrap("10.0.0.1", nodes=2, gpus_per_node=8, cpus_per_node=32, port=6400)
    assert boot.head_argv() == ["ray", "start", "--head", "--node-ip-address", "10.0.0.1", "--port", "6400",
                                "--include-dashboard=false", "--num-gpus", "8", "--num-cpus", "32",
                                "--disable-usage-stats", "--block"]
    assert boot.worker_argv() == ["ray", "start", "--address", "10.0.0.1:6400", "--num-gpus", "8", "--num-cpus",
                                  "32", "--disable-usage-stats", "--block"]
    assert boot.driver_env() == {"RAY_ADDRESS": "10.0.0.1:6400"} and boot.expected_gpus == 16


def test_bootstrap_from_allocation_resolves_the_first_host_and_derives_the_port(monkeypatch):
    monkeypatch.delenv("REPRO_RAY_PORT", raising=False)
    boot = bootstrap_for(["gpu-a", "gpu-b", "gpu-c"], 4, 16, "123456_7", resolve={"gpu-a": "10.1.2.3"}.get)
    assert (boot.head_host, boot.nodes, boot.port) == ("10.1.2.3", 3, 6379 + 1 + 123456 % 2000)
    # `ray start` through the wrapper that keeps a loopback address (repro/launch/ray_node.py), this interpreter's
    assert boot.ray == (sys.executable, "-m", "repro.launch.ray_node")
    assert boot.head_argv()[:4] == [sys.executable, "-m", "repro.launch.ray_node", "start"]
    monkeypatch.setenv("REPRO_RAY_PORT", "7000")
    assert bootstrap_for(["gpu-a"], 4, 16, "1", resolve=lambda h: "10.1.2.3").port == 7000


def test_wait_polls_until_every_gpu_joined():
    seen = iter([{"gpus": 8.0, "nodes": 1}, {"gpus": 8.0, "nodes": 1}, {"gpus": 16.0, "nodes": 2}])
    calls = []

    def state(address, node_ip):
        calls.append(address)
        return next(seen)

    boot = RayBootstrap("h", 2, 8, 32, 1)
    assert wait_for_gpus(boot, timeout_s=5, poll_s=0.0, state=state) == {"gpus": 16.0, "nodes": 2}
    assert calls == ["h:1"] * 3


def test_wait_times_out_naming_what_it_saw():
    def state(address, node_ip):
        return {"gpus": 8.0, "nodes": 1}

    with pytest.raises(ReproError, match=r"did not reach 2 nodes / 16 GPUs.*'gpus': 8.0, 'nodes': 1"):
        wait_for_gpus(RayBootstrap("h", 2, 8, 32, 1), timeout_s=0.05, poll_s=0.01, state=state)

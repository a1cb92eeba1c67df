"""Ray across a Slurm allocation, for Ray PPO stages on more than one node.

The first node starts a Ray head, every other node a worker that joins it; the first node polls
until the cluster reports every GPU of the allocation (never a fixed sleep), runs the stage's
driver with RAY_ADDRESS pointing at the head, and stops the head by the PID it started. Workers
block in `ray start --block` and exit once the head is gone. `ray stop` is never used: it stops
every Ray process on a node, including other users' and other jobs'.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError

DEFAULT_PORT = 6379
# Workers notice a vanished head after this many seconds (Ray's default is 60).
WORKER_ENV = {"RAY_gcs_rpc_server_reconnect_timeout_s": "15"}


@dataclass(frozen=True)
class RayBootstrap:
    """One stage's Ray cluster: where the head runs and what every node contributes."""

    head_host: str
    nodes: int
    gpus_per_node: int
    cpus_per_node: int
    port: int | str = DEFAULT_PORT  # str only for rendering placeholders
    ray: tuple[str, ...] = ("ray",)  # the command that runs `ray start` (ray_cli() when a job runs it)

    @property
    def address(self) -> str:
        return f"{self.head_host}:{self.port}"

    @property
    def expected_gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    def _resources(self) -> list[str]:
        return ["--num-gpus", str(self.gpus_per_node), "--num-cpus", str(self.cpus_per_node),
                "--disable-usage-stats", "--block"]

    def head_argv(self) -> list[str]:
        return [*self.ray, "start", "--head", "--node-ip-address", self.head_host, "--port", str(self.port),
                "--include-dashboard=false", *self._resources()]

    def worker_argv(self, node_ip: str | None = None) -> list[str]:
        """Ray detects a worker node's own address unless given (tests pin loopback)."""
        ip = ["--node-ip-address", node_ip] if node_ip else []
        return [*self.ray, "start", "--address", self.address, *ip, *self._resources()]

    def driver_env(self) -> dict[str, str]:
        return {"RAY_ADDRESS": self.address}


def bootstrap_for(hostnames: list[str], gpus_per_node: int, cpus_per_node: int, job_id: str,
                  resolve=socket.gethostbyname) -> RayBootstrap:
    """The bootstrap of a Slurm allocation: head on the first host (by IP: Ray wants addresses,
    Slurm gives names), a port derived from the job id so two jobs sharing a node do not collide
    ($REPRO_RAY_PORT overrides)."""
    port = int(os.environ.get("REPRO_RAY_PORT", DEFAULT_PORT + 1 + int(job_id.split("_")[0]) % 2000))
    return RayBootstrap(resolve(hostnames[0]), len(hostnames), gpus_per_node, cpus_per_node, port, ray_cli())


def ray_cli() -> tuple[str, ...]:
    """Ray's CLI in the interpreter running the job (a venv's bin/ need not be on PATH), keeping a loopback
    address given to it (repro/launch/ray_node.py)."""
    return (sys.executable, "-m", "repro.launch.ray_node")


def cluster_state(address: str, node_ip: str | None = None) -> dict:
    """{'gpus': float, 'nodes': int} of a running cluster, from a short-lived driver process (the
    caller never becomes a Ray driver itself); raises if the cluster cannot be reached."""
    code = ("import json, ray; from repro.launch.ray_node import keep_explicit_loopback; keep_explicit_loopback();"
            "ray.init(address=%r, _node_ip_address=%r, logging_level='ERROR');"
            "print(json.dumps({'gpus': ray.cluster_resources().get('GPU', 0.0),"
            " 'nodes': sum(n['Alive'] for n in ray.nodes())}))") % (address, node_ip)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise ReproError(f"cannot reach the Ray cluster at {address}: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_for_gpus(boot: RayBootstrap, timeout_s: float, poll_s: float = 2.0, state=cluster_state,
                  node_ip: str | None = None) -> dict:
    """Poll until the cluster has every node and GPU of the allocation; on timeout the error
    says what it saw, so a node that never joined is named by the count it is missing."""
    deadline = time.monotonic() + timeout_s
    seen: dict = {}
    while True:
        try:
            seen = state(boot.address, node_ip)
            if seen["gpus"] >= boot.expected_gpus and seen["nodes"] >= boot.nodes:
                return seen
        except ReproError as e:
            seen = {"error": str(e)}
        if time.monotonic() >= deadline:
            raise ReproError(f"Ray cluster at {boot.address} did not reach {boot.nodes} nodes / "
                             f"{boot.expected_gpus} GPUs within {timeout_s:.0f} s; last seen: {seen}")
        time.sleep(poll_s)


def start(argv: list[str], log_path: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`ray start --block` in its own session, so stop() reaches the GCS, raylet and workers it forks."""
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})


def stop(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the process group this job started (its id is the leader's PID: start() opened a
    new session), SIGKILL what is left after the grace period. Also when the leader has already
    exited: Ray's agents outlive `ray start` otherwise."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        if sig == signal.SIGTERM:
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(1.0)  # let children of the group finish exiting before the SIGKILL sweep
    proc.wait()


def render_bootstrap(nodes: int, gpus_per_node: int, cpus_per_node: int) -> list[str]:
    """What a multi-node Ray stage's job does, for dry runs and golden job scripts; the head
    address and port are known only once the job runs."""
    boot = RayBootstrap("${HEAD_IP}", nodes, gpus_per_node, cpus_per_node, "${RAY_PORT}")
    return [
        f"node 0: {shlex.join(boot.head_argv())}",
        f"nodes 1-{nodes - 1}: {shlex.join(boot.worker_argv())}",
        f"node 0, once {nodes} nodes and {boot.expected_gpus} GPUs have joined: RAY_ADDRESS={boot.address} <command>",
        "node 0, after the command: SIGTERM to the head's process group (by PID), workers exit when it is gone",
    ]

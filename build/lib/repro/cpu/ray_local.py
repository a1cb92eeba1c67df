"""A private, loopback-only Ray cluster for one CPU stage, started and stopped by the stage itself.

OpenRLHF's Ray PPO asks every worker for a GPU; on a CPU machine the cluster advertises logical
GPUs so placement succeeds, and every worker process runs `repro.cpu.ray_worker.setup` first
(the same shims as the driver). Starting Ray with `ray.init` from the stage's own process, not
`ray start`, means `ray.shutdown()` stops exactly the processes this stage started (never
`ray stop`, which kills every Ray cluster on the machine), and two stages never share a cluster.

On several nodes the Slurm job has already started Ray across them (repro/launch/ray_cluster.py) and
names it in RAY_ADDRESS: the driver joins that cluster instead, from the address that reaches its head,
and its workers on every node get the same shims; the job, not the driver, stops that cluster.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

# Ray reads this at import: without it the node advertises its non-loopback address.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
LOOPBACK = "127.0.0.1"


class RayImportedTooEarly(RuntimeError):
    """ray was imported before the loopback setting: its cluster would listen on every interface."""


_pinned = False


def pin_loopback() -> None:
    """Set the loopback environment before anything imports ray: call first thing in a Ray stage's process.
    Method hooks (e.g. DVPO's) import OpenRLHF, which imports ray; once ray is in, the setting is too late."""
    global _pinned
    if "ray" in sys.modules and not _pinned:
        raise RayImportedTooEarly("ray was imported before repro.cpu.ray_local.pin_loopback(): the local Ray "
                                  "cluster would bind and advertise every interface; pin first")
    os.environ.update(LOOPBACK_ENV)
    _pinned = True


def bootstrapped_cluster() -> str | None:
    """The address of a cluster the Slurm job started across its nodes, if any (RAY_ADDRESS)."""
    return os.environ.get("RAY_ADDRESS") or None


def worker_env(loopback: bool = True) -> dict[str, str]:
    """Environment every Ray worker inherits: the stage's thread and cache settings (and, on a private
    cluster, the loopback setting: workers of a multi-node cluster advertise their node's address)."""
    keys = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_EXTENSIONS_DIR", "DS_ACCELERATOR", "HF_HUB_OFFLINE",
            "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "WANDB_MODE", "TOKENIZERS_PARALLELISM",
            "HF_DATASETS_CACHE", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keys or k.startswith("REPRO_")}
    if loopback:
        env.update(LOOPBACK_ENV)
    env["RAY_ENABLE_ZERO_COPY_TORCH_TENSORS"] = "0"
    return env


def runtime_env(loopback: bool = True) -> dict:
    return {"env_vars": worker_env(loopback), "worker_process_setup_hook": "repro.cpu.ray_worker.setup"}


def init_kwargs(logical_gpus: int, cpus: int, temp_dir: str) -> dict:
    """Arguments for ray.init: a fresh local cluster on 127.0.0.1 with logical GPUs."""
    return dict(
        address="local",
        _node_ip_address=LOOPBACK,
        num_cpus=cpus,
        num_gpus=logical_gpus,
        include_dashboard=False,
        _temp_dir=temp_dir,
        log_to_driver=True,
        runtime_env=runtime_env(),
    )


def join_kwargs(address: str) -> dict:
    """Arguments for ray.init joining a bootstrapped cluster, from the local address that reaches its head."""
    from repro.netaddr import source_address

    return dict(address=address, _node_ip_address=source_address(address.rsplit(":", 1)[0]), log_to_driver=True,
                runtime_env=runtime_env(loopback=False))


_temp_dir: str | None = None


def start(logical_gpus: int, cpus: int | None = None) -> str | None:
    """Start the cluster; returns its temp dir. Worker output reaches the stage log through the
    driver (log_to_driver), so the temp dir is removed by stop(). Joins a bootstrapped cluster instead
    when there is one (no temp dir then)."""
    global _temp_dir
    address = bootstrapped_cluster()
    if address:
        import ray

        from repro.launch.ray_node import keep_explicit_loopback

        keep_explicit_loopback()  # a head on 127.0.0.1 (slurm/local's 2-node mode) is joined there
        ray.init(**join_kwargs(address))
        return None
    pin_loopback()
    import ray

    # Short path: Ray's unix sockets must fit in 107 bytes.
    _temp_dir = tempfile.mkdtemp(prefix="repro-ray-", dir="/tmp")
    ray.init(**init_kwargs(logical_gpus, cpus if cpus is not None else logical_gpus, _temp_dir))
    return _temp_dir


def stop() -> None:
    """ray.shutdown() stops the GCS, raylet and workers this process started, and only those (on a
    bootstrapped cluster it only disconnects this driver)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    if _temp_dir:
        shutil.rmtree(_temp_dir, ignore_errors=True)

"""torch.distributed on the loopback only, for CPU stages: rendezvous through files, gloo on `lo`.

Every OpenRLHF stage initialises torch.distributed. Its default rendezvous (env://) starts a TCPStore, and
PyTorch binds that store to every interface with no option to narrow it; gloo's pair sockets bind to the
address the hostname resolves to. Neither has authentication. A CPU stage runs on one machine, so nothing
needs the network: a one-process group rendezvous through a file in the stage's private folder, the
weight-sync group of actor and rollout engines (repro/cpu/gloo_sync.py) through a FileStore there too,
and gloo's sockets use the loopback interface. GPU runs are untouched (the CPU layer is never imported).

A group of several processes (a CPU stage on several nodes, one process per node, or a Ray model group
spread over them) rendezvous through a file named after its MASTER_ADDR and MASTER_PORT in the store
folder, which the Slurm job puts where every node sees it (repro/launch/stage_job.py); gloo then uses
the interface that reaches the group's first rank: `lo` when the nodes share the loopback (slurm/local's
2-node mode), the cluster network otherwise.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from pathlib import Path

from repro.netaddr import interface_towards

STORE_DIR_ENV = "REPRO_STORE_DIR"  # REPRO_* variables reach every Ray worker (repro/cpu/ray_local.py)
LOOPBACK_ENV = {"GLOO_SOCKET_IFNAME": "lo"}
# Printed by every member of a multi-process group. Ray's driver folds worker lines that differ only in
# digits ("rank 0 ... node1" / "rank 1 ... node2"), so Ray stages exempt it (repro/cpu/run.py).
GROUP_LINE = "repro.cpu: process group"

_counter = itertools.count()
_installed = False
_created: str | None = None  # the folder open_store_dir made (a folder the Slurm job set is never removed)


def open_store_dir() -> Path:
    """The stage's rendezvous folder: the one the environment names (a multi-node job's shared folder), else
    a private one created once per stage process tree (the driver makes it, its Ray workers inherit it)."""
    global _created
    if not os.environ.get(STORE_DIR_ENV):
        os.environ[STORE_DIR_ENV] = _created = tempfile.mkdtemp(prefix="repro-store-", dir="/tmp")
    Path(os.environ[STORE_DIR_ENV]).mkdir(parents=True, exist_ok=True)
    return Path(os.environ[STORE_DIR_ENV])


def close_store_dir() -> None:
    global _created
    if _created and os.environ.get(STORE_DIR_ENV) == _created:
        os.environ.pop(STORE_DIR_ENV)
        shutil.rmtree(_created, ignore_errors=True)
    _created = None


def store_file(name: str) -> str:
    return str(open_store_dir() / name)


def init_method_for(world_size: int, init_method: str | None, store, environ=os.environ) -> str | None:
    """A file:// rendezvous for groups that would otherwise open a TCPStore (env://): a private file for a
    one-process group; for a group of several, the file every member names the same way, after the
    group's MASTER_ADDR and MASTER_PORT (one group per port)."""
    if store is not None or init_method not in (None, "env://"):
        return init_method
    if world_size == 1:
        return f"file://{store_file(f'pg-{os.getpid()}-{next(_counter)}')}"
    if not (environ.get("MASTER_ADDR") and environ.get("MASTER_PORT")):
        return init_method
    group = f"group-{environ['MASTER_ADDR']}-{environ['MASTER_PORT']}"
    return f"file://{store_file(group)}"


def gloo_interface(world_size: int, environ=os.environ) -> str:
    """The loopback for a one-process group; for several, the interface that reaches the first rank."""
    if world_size > 1 and environ.get("MASTER_ADDR"):
        return interface_towards(environ["MASTER_ADDR"])
    return LOOPBACK_ENV["GLOO_SOCKET_IFNAME"]


def install() -> None:
    """Patch torch.distributed.init_process_group (idempotent); run before OpenRLHF or DeepSpeed start."""
    global _installed
    if _installed:
        return
    os.environ.update(LOOPBACK_ENV)
    import torch.distributed as dist

    original = dist.init_process_group

    def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                           **kwargs):
        size = world_size if world_size != -1 else int(os.environ.get("WORLD_SIZE", "1"))
        method = init_method_for(size, init_method, store)
        if method != init_method:  # file:// takes rank and size as arguments, not from the environment
            world_size, rank = size, (rank if rank != -1 else int(os.environ.get("RANK", "0")))
        # gloo reads its interface when the group is created (OpenRLHF sets MASTER_ADDR just before).
        os.environ["GLOO_SOCKET_IFNAME"] = gloo_interface(size)
        if size > 1:  # where each member of a multi-process group is, for the logs of multi-node runs
            shown = rank if rank != -1 else os.environ.get("RANK", "?")
            print(f"{GROUP_LINE} rank {shown} of {size} on {socket.gethostname()}, rendezvous "
                  f"{method}, gloo on {os.environ['GLOO_SOCKET_IFNAME']}", flush=True)
        return original(backend, init_method=method, timeout=timeout, world_size=world_size, rank=rank,
                        store=store, **kwargs)

    dist.init_process_group = init_process_group
    _installed = True

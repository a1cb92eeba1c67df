"""torch.distributed on the loopback only, for CPU stages: rendezvous through files, gloo on `lo`.

Every OpenRLHF stage initialises torch.distributed. Its default rendezvous (env://) starts a TCPStore, and
PyTorch binds that store to every interface with no option to narrow it; gloo's pair sockets bind to the
address the hostname resolves to. Neither has authentication. A CPU stage runs on one machine, so nothing
needs the network: a one-process group rendezvous through a file in the stage's private folder, the
weight-sync group of actor and rollout engines (repro/cpu/gloo_sync.py) through a FileStore there too,
and gloo's sockets use the loopback interface. GPU runs are untouched (the CPU layer is never imported).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

STORE_DIR_ENV = "REPRO_STORE_DIR"  # REPRO_* variables reach every Ray worker (repro/cpu/ray_local.py)
LOOPBACK_ENV = {"GLOO_SOCKET_IFNAME": "lo"}

_counter = itertools.count()
_installed = False


def open_store_dir() -> Path:
    """The stage's private rendezvous folder, created once per stage process tree (the driver makes it)."""
    if not os.environ.get(STORE_DIR_ENV):
        os.environ[STORE_DIR_ENV] = tempfile.mkdtemp(prefix="repro-store-", dir="/tmp")
    return Path(os.environ[STORE_DIR_ENV])


def close_store_dir() -> None:
    folder = os.environ.pop(STORE_DIR_ENV, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def store_file(name: str) -> str:
    return str(open_store_dir() / name)


def init_method_for(world_size: int, init_method: str | None, store) -> str | None:
    """A file:// rendezvous for one-process groups that would otherwise open a TCPStore (env://)."""
    if store is None and init_method in (None, "env://") and world_size == 1:
        return f"file://{store_file(f'pg-{os.getpid()}-{next(_counter)}')}"
    return init_method


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
        if method != init_method:
            world_size, rank = 1, 0
        return original(backend, init_method=method, timeout=timeout, world_size=world_size, rank=rank,
                        store=store, **kwargs)

    dist.init_process_group = init_process_group
    _installed = True

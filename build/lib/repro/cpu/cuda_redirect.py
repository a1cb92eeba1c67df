"""Point the CUDA calls OpenRLHF 0.11.2 makes unconditionally at the CPU.

SFT/DPO/RM/PPO call torch.cuda.current_device/set_device/synchronize/empty_cache/current_stream
and build their DeepSpeed mesh with init_device_mesh("cuda", ...) even when no GPU exists;
patch_replay_buffer covers PPO's one "cuda:{index}" device string. Install before
openrlhf is imported (utils/deepspeed/deepspeed.py binds init_device_mesh by name at import).
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.distributed.device_mesh as device_mesh

CPU = torch.device("cpu")
_installed = False


def _current_device() -> torch.device:
    """Stands in for the CUDA device index; usable wherever OpenRLHF passes it to .to()/device=."""
    return CPU


def _noop(name: str):
    """A fresh no-op per name: torch._dynamo's trace rules map torch.cuda functions by identity
    and assert if one object stands for two names with different rules."""

    def noop(*args, **kwargs) -> None:
        return None

    noop.__name__ = noop.__qualname__ = name
    return noop


def _cpu_device_type(fn):
    """Wrap init_device_mesh so a "cuda" device type becomes "cpu"."""

    @functools.wraps(fn)
    def wrapper(device_type, *args, **kwargs):
        return fn("cpu" if device_type == "cuda" else device_type, *args, **kwargs)

    return wrapper


def _patch_cuda_calls() -> None:
    torch.cuda.current_device = _current_device
    for name in ("set_device", "synchronize", "empty_cache", "current_stream"):
        setattr(torch.cuda, name, _noop(name))


def _patch_device_mesh() -> None:
    wrapped = _cpu_device_type(device_mesh.init_device_mesh)
    device_mesh.init_device_mesh = wrapped
    if hasattr(torch.distributed, "init_device_mesh"):
        torch.distributed.init_device_mesh = wrapped


def install() -> None:
    """Apply the redirects (idempotent). Refuses on a machine where CUDA really is available."""
    global _installed
    if _installed:
        return
    if torch.cuda.is_available():
        raise RuntimeError("repro.cpu.cuda_redirect is for CPU-only runs, but CUDA is available here")
    _patch_cuda_calls()
    _patch_device_mesh()
    _installed = True


@contextlib.contextmanager
def _device_index_zero():
    """current_device() -> 0 for code that formats it into "cuda:{index}" strings."""
    saved = torch.cuda.current_device
    torch.cuda.current_device = lambda: 0
    try:
        yield
    finally:
        torch.cuda.current_device = saved


def patch_replay_buffer() -> None:
    """trainer/ppo_utils/replay_buffer.py:40 builds torch.device(f"cuda:{current_device()}") in
    NaiveReplayBuffer.__init__; build it with index 0, then point the buffer at the CPU."""
    from openrlhf.trainer.ppo_utils import replay_buffer

    cls = replay_buffer.NaiveReplayBuffer
    if getattr(cls, "_repro_cpu", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        with _device_index_zero():
            original(self, *args, **kwargs)
        self.target_device = CPU

    cls.__init__ = __init__
    cls._repro_cpu = True

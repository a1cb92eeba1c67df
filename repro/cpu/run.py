"""Entry point: `python -m repro.cpu.run [--ray N] <module> [args...]` runs an OpenRLHF CLI on the CPU.

Installs the shims, fills in the environment a single-process DeepSpeed run needs (without it
deepspeed.init_distributed tries MPI discovery), then runs <module> as __main__ via runpy.
With `--ray N` (Ray PPO) it first starts a private loopback Ray cluster with N logical GPUs in
this process, so OpenRLHF's own `ray.init` is skipped, and always shuts it down afterwards (on
several nodes it joins the cluster the Slurm job bootstrapped, RAY_ADDRESS, instead).
Set REPRO_CPU_ALLOW_OTHER_OPENRLHF=1 to downgrade the openrlhf version check to a warning.
"""

from __future__ import annotations

import os
import runpy
import sys

from repro.cpu import check_openrlhf_version
from repro.stages.env import cache_root
from repro.launch.openrlhf_entry import record_effective_args, seed_driver
from repro.netaddr import free_port


def single_process_env() -> dict[str, str]:
    """Defaults for a one-process DeepSpeed run on the CPU accelerator (gloo backend)."""
    return {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "LOCAL_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "DS_ACCELERATOR": "cpu",
        "TORCH_EXTENSIONS_DIR": str(cache_root() / "torch_extensions"),
    }


def apply_env(environ=os.environ) -> None:
    """Set every default that the caller has not set already."""
    for key, value in single_process_env().items():
        environ.setdefault(key, value)


def set_threads() -> None:
    """Use OMP_NUM_THREADS for torch's intra-op pool, when given."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def install_shims() -> None:
    from repro.cpu import bf16_matmul, cuda_redirect, flash_attn_shim, local_rendezvous, vllm_shim

    bf16_matmul.install()
    cuda_redirect.install()
    flash_attn_shim.install()
    vllm_shim.install()
    local_rendezvous.install()


def split_ray_flag(argv: list[str]) -> tuple[int | None, list[str]]:
    """['--ray', '4', 'mod', ...] -> (4, ['mod', ...]); no flag -> (None, argv)."""
    if argv[:1] == ["--ray"]:
        if len(argv) < 3 or not argv[1].isdigit():
            sys.exit("usage: python -m repro.cpu.run --ray <logical GPUs> <module> [args...]")
        return int(argv[1]), argv[2:]
    return None, argv


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.exit("usage: python -m repro.cpu.run [--ray N] <module> [args...]   e.g. openrlhf.cli.train_sft")
    ray_gpus, argv = split_ray_flag(argv)
    if ray_gpus is not None:
        from repro.cpu import ray_local
        from repro.cpu.local_rendezvous import GROUP_LINE

        # Read when ray is imported, like the loopback pin: each group member's line reaches the log.
        os.environ.setdefault("RAY_DEDUP_LOGS_ALLOW_REGEX", GROUP_LINE)
        if not ray_local.bootstrapped_cluster():  # a multi-node cluster's nodes chose their own addresses
            ray_local.pin_loopback()  # before the version check, shims and hooks: any of them may import ray
    from repro.cpu import local_rendezvous

    local_rendezvous.open_store_dir()  # before Ray starts, so that every worker inherits it
    try:
        run_module(ray_gpus, argv)
    finally:
        local_rendezvous.close_store_dir()


def run_module(ray_gpus: int | None, argv: list[str]) -> None:
    module, args = argv[0], argv[1:]
    check_openrlhf_version(strict=os.environ.get("REPRO_CPU_ALLOW_OTHER_OPENRLHF") != "1")
    if ray_gpus is None:
        apply_env()
    set_threads()
    install_shims()
    record_effective_args()
    seed_driver(args)
    sys.argv = [module, *args]
    if ray_gpus is None:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    from repro.cpu import ray_local
    from repro.launch.openrlhf_entry import run_hooks

    run_hooks()
    ray_local.start(ray_gpus)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        ray_local.stop()


if __name__ == "__main__":
    main()

"""Run an OpenRLHF CLI module and record the arguments it actually trains with.

OpenRLHF's CLIs validate by printing a warning and rewriting arguments (e.g. the critic path,
packing, vLLM batch sizes), so the rendered command is not always what ran. Every CLI passes
its final namespace to `openrlhf.utils.get_strategy` first thing in `train(args)`: wrapping that
one function writes the effective arguments to $REPRO_EFFECTIVE_ARGS (JSON) before training.
Method hooks named in $REPRO_HOOKS ("module:function,...", e.g. DVPO's) run in this process and,
for Ray PPO, in every Ray worker (worker_process_setup_hook), before any OpenRLHF code runs; so
does the seed of --train.seed (seed_driver).
Stand-ins named in $REPRO_SHIMS (flash_attn, vllm) are installed first, for GPU machines without flash-attn or
vLLM (repro/stages/env.py: gpu_shims). A Ray cluster it starts itself listens on the loopback only.
Usage: `python -m repro.launch.openrlhf_entry <module> [args...]`.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
from argparse import Namespace
from types import SimpleNamespace
from pathlib import Path

from repro.stages.openrlhf import EFFECTIVE_ARGS_ENV as ENV_VAR
from repro.stages.env import SHIMS_ENV
from repro.stages.openrlhf import HOOKS_ENV


def to_plain(value):
    """Nested (argparse or OpenRLHF's simple) namespaces -> dicts; anything JSON cannot hold -> str."""
    if isinstance(value, (Namespace, SimpleNamespace)):
        return {k: to_plain(v) for k, v in sorted(vars(value).items())}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def write_args(args, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(to_plain(args), indent=2, sort_keys=True))
    tmp.replace(path)


def record_effective_args() -> None:
    """Wrap openrlhf.utils.get_strategy (before the CLI module is executed) when $REPRO_EFFECTIVE_ARGS is set."""
    target = os.environ.get(ENV_VAR)
    if not target:
        return
    import openrlhf.utils as utils

    original = utils.get_strategy
    if getattr(original, "_repro_records", False):
        return

    def get_strategy(args):
        write_args(args, Path(target))
        return original(args)

    get_strategy._repro_records = True
    utils.get_strategy = get_strategy


SEED_ENV = "REPRO_SEED"  # REPRO_* variables reach every Ray worker


def seed_everything(seed: int) -> None:
    import random

    import numpy
    import torch

    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)


def seed_driver(argv: list[str]) -> int | None:
    """Seed this process, and (through $REPRO_SEED) every Ray worker it starts, from the CLI's --train.seed.
    OpenRLHF seeds its DeepSpeed model actors but not the others: Ray PPO's trainer actor builds the prompt
    dataloader with an unseeded RandomSampler (no process group there, so no DistributedSampler), and the
    prompts of each step changed from run to run."""
    if "--train.seed" not in argv[:-1]:
        return None
    seed = int(argv[argv.index("--train.seed") + 1])
    os.environ[SEED_ENV] = str(seed)
    seed_everything(seed)
    return seed


def seed_worker() -> None:
    if os.environ.get(SEED_ENV):
        seed_everything(int(os.environ[SEED_ENV]))




def requested_shims() -> set[str]:
    return set(filter(None, os.environ.get(SHIMS_ENV, "").split(",")))


def install_shims() -> None:
    """The stand-ins the stage asked for in $REPRO_SHIMS (repro/stages/env.py: gpu_shims), before anything
    imports openrlhf: flash_attn's import-time names on a GPU without flash-attn, and vLLM's interface backed
    by the harness's HF engine (on the GPU) where the recipe generates with it."""
    names = requested_shims()
    if "flash_attn" in names:
        from repro.cpu import flash_attn_shim

        flash_attn_shim.install()
    if "vllm" in names:
        from repro.cpu import vllm_shim

        vllm_shim.install()


def run_hooks() -> None:
    for spec in filter(None, os.environ.get(HOOKS_ENV, "").split(",")):
        module, _, func = spec.partition(":")
        getattr(importlib.import_module(module), func)()


def worker_setup() -> None:
    """Ray's worker_process_setup_hook on GPU (on CPU after the shims): the run's seed, rollouts in dispatch
    order, the method's hooks."""
    from repro.launch import ordered_rollouts

    install_shims()
    seed_worker()
    ordered_rollouts.install()
    run_hooks()


def init_ray_with_hooks() -> None:
    """GPU Ray PPO: join (or start) Ray with the seed, the stand-ins and the method's hooks in every worker,
    before OpenRLHF's own ray.init (which it then skips), keeping OpenRLHF's default worker env. A cluster this
    process starts itself (no RAY_ADDRESS: one machine) listens on the loopback only (pin_loopback first)."""
    import ray

    from repro.cpu.ray_local import LOOPBACK, bootstrapped_cluster

    env = {"TOKENIZERS_PARALLELISM": "true", "NCCL_DEBUG": "WARN", "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("REPRO_") or k == "GLOO_SOCKET_IFNAME"})
    local = {} if bootstrapped_cluster() else {"_node_ip_address": LOOPBACK, "include_dashboard": False}
    ray.init(runtime_env={"env_vars": env, "worker_process_setup_hook": "repro.launch.openrlhf_entry.worker_setup"},
             **local)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.exit("usage: python -m repro.launch.openrlhf_entry <module> [args...]")
    ray_ppo = argv[0] == "openrlhf.cli.train_ppo_ray"
    if ray_ppo:
        from repro.cpu import ray_local

        if not ray_local.bootstrapped_cluster():
            ray_local.pin_loopback()  # before the shims and hooks: any of them may import ray
    install_shims()
    record_effective_args()
    seed_driver(argv)
    run_hooks()
    hf_engine = "vllm" in requested_shims()
    if hf_engine:
        from repro.cpu import local_rendezvous

        local_rendezvous.open_store_dir()  # the HF engine's weight-sync rendezvous; before Ray, so workers inherit it
    try:
        if ray_ppo:
            init_ray_with_hooks()
        sys.argv = argv
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
    finally:
        if hf_engine:
            local_rendezvous.close_store_dir()


if __name__ == "__main__":
    main()

"""The environment every stage runs with: offline hubs, thread counts, caches.

One function so that every method's stages see the same environment (a fair comparison
needs the same threads and the same caches).
"""

from __future__ import annotations

import os
from pathlib import Path

from repro.recipes import REPO_ROOT
from repro.spec import Resources, WandbSpec


def cache_root() -> Path:
    return Path(os.environ.get("REPRO_CACHE", REPO_ROOT / ".cache"))


# "flash_attn,vllm": the stand-ins a GPU stage installs before OpenRLHF is imported (repro/launch/openrlhf_entry.py).
SHIMS_ENV = "REPRO_SHIMS"


def gpu_shims(resources: Resources, rollout_engine: str | None = None) -> list[str]:
    """Stand-ins a GPU stage needs (CPU stages get every one from repro.cpu.run): flash_attn's import-time names
    when the stage attends without flash-attn (a GPU machine may not have it), vLLM's interface when the
    harness's HF engine generates the rollouts. Empty for the default GPU stack, so those stages are unchanged."""
    if resources.device == "cpu":
        return []
    return (["flash_attn"] if resources.attention_kernel != "flash_attention_2" else []) + \
        (["vllm"] if rollout_engine == "hf" else [])


def stage_env(resources: Resources, rollout_engine: str | None = None) -> dict[str, str]:
    threads = str(resources.threads)
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "HF_DATASETS_CACHE": str(cache_root() / "hf_datasets"),
    }
    if resources.device == "cpu":
        # DeepSpeed JIT-compiles its CPU ops (~4 min) on first use: pay it once per checkout.
        env["TORCH_EXTENSIONS_DIR"] = str(cache_root() / "torch_extensions")
        env["DS_ACCELERATOR"] = "cpu"
    shims = gpu_shims(resources, rollout_engine)
    if shims:
        env[SHIMS_ENV] = ",".join(shims)
    if "vllm" in shims:
        env["GLOO_SOCKET_IFNAME"] = "lo"  # the HF engine's weight sync: gloo on the loopback, one machine
    return env


def wandb_env(wandb: WandbSpec) -> dict[str, str]:
    """What a stage's runner needs to track it in W&B (never the key: WANDB_API_KEY stays in the launching
    environment). Nothing when tracking is off, so stages render exactly as before."""
    if wandb.mode == "disabled":
        return {}
    env = {"REPRO_WANDB_MODE": wandb.mode, "REPRO_WANDB_PROJECT": wandb.project}
    if wandb.entity:
        env["REPRO_WANDB_ENTITY"] = wandb.entity
    return env

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


def stage_env(resources: Resources) -> dict[str, str]:
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

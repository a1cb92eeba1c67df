"""env.json: what a run ran on — package versions, git state, CPU and GPU models."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from repro.recipes import REPO_ROOT

PACKAGES = ("repro-dvpo", "torch", "transformers", "deepspeed", "openrlhf", "ray", "datasets",
            "tokenizers", "scikit-learn", "lm-eval", "alpaca-eval", "submitit", "pydantic")


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path = REPO_ROOT) -> dict[str, str | bool | None]:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The instruction sets that decide which CPU kernels torch and DeepSpeed run: one seed gives other numbers on
# machines that differ here (results/imdb-frontier: Intel Xeon vs AMD EPYC), so records name them, narrowest first.
KERNEL_FLAGS = ("fma", "avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The KERNEL_FLAGS this CPU has, from /proc/cpuinfo's first `flags` line (empty where there is none)."""
    try:
        text = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    present = set(line.split(":", 1)[-1].split())
    return [f for f in KERNEL_FLAGS if f in present]


def gpu_models() -> list[str]:
    from repro.metrics.nvml import Nvml

    nvml = Nvml.open()
    return nvml.device_names() if nvml else []


def collect_env() -> dict:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_models(),
        "packages": package_versions(),
        "git": git_state(),
    }

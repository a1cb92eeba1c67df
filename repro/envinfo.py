"""env.json: what a run ran on — package versions, git state, CPU and GPU models."""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from repro.cpuflags import cpu_flags
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


def gpu_models() -> list[str]:
    from repro.metrics.nvml import Nvml

    nvml = Nvml.open()
    return nvml.device_names() if nvml else []


def machine_facts(environ: Mapping[str, str] | None = None) -> dict:
    """What decides a stage's numbers besides code and seed: CPU model, kernel flags, the bf16 matmul mode
    under `environ` (a stage's own environment may set it), core count and GPUs. Taken where and when each
    stage starts, so a run whose stages ran on several machines says so."""
    import os

    from repro.cpu.bf16_matmul import ENV, mode_for  # 'native' bf16 kernels or the 'fp32' upcast

    environ = os.environ if environ is None else environ
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cpu_flags": flags,
        "cpu_bf16_matmul": mode_for(environ.get(ENV), flags),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_models(),
    }


def collect_env() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        **machine_facts(),
        "packages": package_versions(),
        "git": git_state(),
    }

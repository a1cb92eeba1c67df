"""The CPU's kernel-relevant instruction sets, from /proc/cpuinfo (env.json records them; the CPU layer
picks its bf16 matmul path by them)."""

from __future__ import annotations

from pathlib import Path

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

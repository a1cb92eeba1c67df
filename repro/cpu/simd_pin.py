"""One SIMD flag for every DeepSpeed CPU op build on this machine, read from /proc/cpuinfo.

DeepSpeed's CPU op builder adds -D__AVX512__, __AVX256__ or __SCALAR__ from py-cpuinfo, which detects the CPU
in a subprocess and falls back to lscpu, then to scalar, when that fails. Processes that disagree write
different build.ninja files into the one shared build folder, so each rebuilds the op in turn (2-4 minutes on
two loaded cores, holding the build lock every other stage waits on): fused_adam was rebuilt three times in
15 minutes here, its ninja log alternating between two command lines. The kernel's flag list answers the same
question without a subprocess, the same way in every process.
"""

from __future__ import annotations

import platform


def simd_flag(cpuinfo: str, machine: str) -> str:
    """DeepSpeed's SIMD define for an x86-64 CPU whose /proc/cpuinfo is `cpuinfo` (its rule: AVX-512F, else
    AVX2, else scalar)."""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if machine not in ("x86_64", "AMD64"):
        return "-D__SCALAR__"
    if "avx512f" in flags:
        return "-D__AVX512__"
    if "avx2" in flags:
        return "-D__AVX256__"
    return "-D__SCALAR__"


def install() -> None:
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
        from deepspeed.ops.op_builder.builder import OpBuilder
    except (OSError, ImportError):  # not Linux, or no DeepSpeed: nothing to pin
        return
    flag = simd_flag(cpuinfo, platform.machine())
    OpBuilder.simd_width = lambda self: flag

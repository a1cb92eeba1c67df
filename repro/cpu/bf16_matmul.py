"""bf16 matmuls on CPUs without bf16 kernels: multiply in float32, round the result to bf16.

torch's CPU build multiplies bf16 matrices with oneDNN's bf16 kernels only where the CPU has them (avx512_bf16
or amx_bf16). Elsewhere (e.g. AVX2-only AMD EPYC Zen 3) it takes a generic path that is measured 12x slower
than float32 on the IMDB model (README, "bf16 on CPUs without bf16 kernels"), which made every CPU training
stage, and CI, several times slower on such machines. Both paths multiply bf16 values exactly and sum in
float32, so upcasting the operands, running MKL's float32 GEMM and rounding the result to bf16 computes the
same thing up to summation order; parameters, gradients and optimiser states stay bf16.

REPRO_CPU_BF16_MATMUL: `auto` (default: upcast only where the CPU lacks bf16 kernels), `fp32` (always),
`native` (never). The mode a run used is in its env.json (`cpu_bf16_matmul`): with the machine kind
(cpu_flags) it decides the numbers, so a seed run in another mode is a new draw.
"""

from __future__ import annotations

import functools
import os

ENV = "REPRO_CPU_BF16_MATMUL"
MODES = ("auto", "fp32", "native")
NATIVE_FLAGS = ("avx512_bf16", "amx_bf16")
_installed = False


def mode_for(setting: str | None, flags: list[str]) -> str:
    """The mode a process uses: 'fp32' (upcast) or 'native', from the setting and the CPU's kernel flags."""
    setting = (setting or "auto").strip().lower()
    if setting not in MODES:
        raise ValueError(f"{ENV}={setting!r}: expected one of {', '.join(MODES)}")
    if setting == "auto":
        return "native" if any(f in flags for f in NATIVE_FLAGS) else "fp32"
    return setting


def current_mode() -> str:
    """This machine's mode under the current environment (what env.json records)."""
    from repro.cpuflags import cpu_flags

    return mode_for(os.environ.get(ENV), cpu_flags())


def is_cpu_bf16(t) -> bool:
    """A bf16 tensor on the CPU, or an absent optional operand (None, e.g. a linear layer's bias)."""
    import torch

    return t is None or (isinstance(t, torch.Tensor) and t.dtype is torch.bfloat16 and t.device.type == "cpu")


def upcast(op):
    """Wrap a multiplying op (F.linear, torch.matmul): when every tensor operand is a bf16 CPU tensor, multiply
    in float32 and round the result to bf16. Anything else (other dtypes or devices, `out=`) passes through
    untouched; autograd carries the casts, so gradients come back in each operand's own dtype."""
    import torch

    @functools.wraps(op)
    def wrapper(*args, **kwargs):
        if kwargs or not all(is_cpu_bf16(a) for a in args):
            return op(*args, **kwargs)
        return op(*(None if a is None else a.float() for a in args)).to(torch.bfloat16)

    return wrapper


def upcast_linear(linear):
    """F.linear upcast like `upcast`, through an autograd Function that keeps only the bf16 operands for the
    backward pass: plain autograd would keep the float32 copies of every layer's input and weight (4 B/param
    more per trained model, measured as PPO at 310M no longer fitting in 24 GiB). The backward recasts them and
    runs the same float32 GEMMs, rounding each gradient to its operand's bf16."""
    import torch

    class Bf16LinearInFp32(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            ctx.save_for_backward(x, weight)
            ctx.has_bias = bias is not None
            return linear(x.float(), weight.float(), None if bias is None else bias.float()).to(torch.bfloat16)

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            g = grad.float()
            flat_g, flat_x = g.reshape(-1, g.shape[-1]), x.float().reshape(-1, x.shape[-1])
            want_x, want_w, want_b = ctx.needs_input_grad
            return ((g @ weight.float()).to(torch.bfloat16) if want_x else None,
                    (flat_g.t() @ flat_x).to(torch.bfloat16) if want_w else None,
                    flat_g.sum(0).to(torch.bfloat16) if want_b and ctx.has_bias else None)

    plain = upcast(linear)

    @functools.wraps(linear)
    def wrapper(input, weight, bias=None):
        if input is not None and weight is not None and all(map(is_cpu_bf16, (input, weight, bias))):
            return Bf16LinearInFp32.apply(input, weight, bias)
        return plain(input, weight, bias)  # other dtypes or devices: untouched

    return wrapper


def install() -> str:
    """Upcast bf16 linear layers and torch.matmul (eager attention) when this machine's mode says so
    (idempotent); returns the mode."""
    global _installed
    mode = current_mode()
    if mode == "fp32" and not _installed:
        import torch
        import torch.nn.functional as F

        F.linear = upcast_linear(F.linear)
        torch.matmul = upcast(torch.matmul)
        _installed = True
    return mode

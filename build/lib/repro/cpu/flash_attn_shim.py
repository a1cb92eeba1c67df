"""Pure-torch stand-ins for the flash_attn names OpenRLHF imports at module top.

`openrlhf/models/ring_attn_utils.py` does `from flash_attn.bert_padding import ...` and
`from flash_attn.utils.distributed import all_gather`, so `openrlhf.models` cannot be imported
without flash-attn (which has no CPU build). These are our own small implementations.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

import torch
import torch.distributed as dist
import torch.nn.functional as F
from einops import rearrange

# Only the leaf modules are registered, never the top-level "flash_attn" package: Python's
# import system returns sys.modules["flash_attn.bert_padding"] for `from flash_attn.bert_padding
# import x` without importing the parent, while importlib.util.find_spec("flash_attn") stays None,
# so transformers (and anything else probing for flash-attn) still sees it as absent, and
# optional imports such as `flash_attn.ops.triton.cross_entropy` still raise ImportError.


def index_first_axis(tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Rows `indices` of `tensor` along dim 0 (differentiable)."""
    return tensor.index_select(0, indices)


def unpad_input(hidden_states: torch.Tensor, attention_mask: torch.Tensor, unused_mask=None):
    """(batch, seqlen, ...) -> (total_tokens, ...) keeping positions where the mask is set.

    Returns (unpadded, indices, cu_seqlens, max_seqlen, seqlens) like flash-attn >= 2.7.
    """
    mask = attention_mask if unused_mask is None else attention_mask + unused_mask
    seqlens = mask.sum(dim=-1, dtype=torch.int32)
    indices = torch.nonzero(mask.flatten(), as_tuple=False).flatten()
    cu_seqlens = F.pad(torch.cumsum(seqlens, dim=0, dtype=torch.int32), (1, 0))
    max_seqlen = int(seqlens.max().item()) if seqlens.numel() else 0
    flat = hidden_states.reshape(-1, *hidden_states.shape[2:])
    used_seqlens = attention_mask.sum(dim=-1, dtype=torch.int32)
    return index_first_axis(flat, indices), indices, cu_seqlens, max_seqlen, used_seqlens


def pad_input(hidden_states: torch.Tensor, indices: torch.Tensor, batch: int, seqlen: int) -> torch.Tensor:
    """Inverse of unpad_input: scatter (total_tokens, ...) back into zeros of (batch, seqlen, ...)."""
    out = hidden_states.new_zeros((batch * seqlen, *hidden_states.shape[1:]))
    out = out.index_copy(0, indices, hidden_states)
    return out.reshape(batch, seqlen, *hidden_states.shape[1:])


class _AllGather(torch.autograd.Function):
    """Concatenate every rank's tensor along dim 0; backward sums grads and keeps this rank's slice."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, tensor.contiguous(), group=group)
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad, group=ctx.group)
        size, rank = dist.get_world_size(ctx.group), dist.get_rank(ctx.group)
        return grad.chunk(size, dim=0)[rank], None


def all_gather(tensor: torch.Tensor, process_group=None) -> torch.Tensor:
    """flash_attn.utils.distributed.all_gather: gather along dim 0 over `process_group`."""
    return _AllGather.apply(tensor, process_group)


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name, f"repro.cpu shim for {name} (pure torch, no flash-attn).")
    mod.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)
    mod.__dict__.update(attrs)
    return mod


def shim_modules() -> dict[str, dict]:
    """Module name -> the names OpenRLHF imports from it."""
    return {
        "flash_attn.bert_padding": dict(
            index_first_axis=index_first_axis, pad_input=pad_input, rearrange=rearrange, unpad_input=unpad_input
        ),
        "flash_attn.utils.distributed": dict(all_gather=all_gather),
    }


def install() -> None:
    """Register the shim modules in sys.modules (idempotent). Call before importing openrlhf."""
    if importlib.util.find_spec("flash_attn") is not None:  # a real flash-attn: leave it alone
        return
    for name, attrs in shim_modules().items():
        sys.modules.setdefault(name, _module(name, **attrs))

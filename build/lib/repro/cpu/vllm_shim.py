"""The small part of vLLM's interface that OpenRLHF 0.11.2's Ray PPO uses, backed by HF `generate`.

OpenRLHF creates rollouts only through vLLM engines (`trainer/ray/vllm_engine.py` builds
`vllm.AsyncLLMEngine.from_engine_args(vllm.AsyncEngineArgs(...))` inside its own RolloutRayActor)
and syncs actor weights to them through `vllm.distributed`'s StatelessProcessGroup +
PyNcclCommunicator. vLLM has no CPU build that runs here, so this module registers stand-ins
under those module names: OpenRLHF's rollout actor, samples generator and weight broadcast then
run unmodified. The engine itself lives in `repro.cpu.hf_engine`.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
import uuid
from dataclasses import dataclass, field
from typing import Any

from repro.cpu.gloo_sync import PyNcclCommunicator, StatelessProcessGroup

# OpenRLHF asserts vLLM > 0.8.5 and switches code paths at 0.9 / 0.16; claim a version on the
# code paths that need nothing CUDA-specific.
VERSION = "0.16.0+repro.cpu"


@dataclass
class SamplingParams:
    """vllm.SamplingParams, only the fields OpenRLHF sets."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int | None = 16
    min_tokens: int = 0
    skip_special_tokens: bool = True
    logprobs: int | None = None
    n: int = 1
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    include_stop_str_in_output: bool = False


def TokensPrompt(prompt_token_ids: list[int], **extra) -> dict:  # noqa: N802 (vLLM's name)
    """vllm.inputs.TokensPrompt is a TypedDict: a plain dict with `prompt_token_ids`."""
    return {"prompt_token_ids": list(prompt_token_ids), **extra}


def random_uuid() -> str:
    return uuid.uuid4().hex


class AsyncEngineArgs:
    """vllm.AsyncEngineArgs: keeps whatever OpenRLHF passes; the HF engine reads what it needs."""

    def __init__(self, model: str, seed: int = 0, dtype: str = "bfloat16", max_model_len: int | None = None,
                 **extra: Any) -> None:
        self.model, self.seed, self.dtype, self.max_model_len, self.extra = model, seed, dtype, max_model_len, extra


def _async_llm_engine():
    from repro.cpu.hf_engine import HFAsyncEngine

    return HFAsyncEngine


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name, f"repro.cpu stand-in for {name} (HF generate, gloo weight sync).")
    mod.__spec__ = importlib.machinery.ModuleSpec(name, loader=None, is_package=True)
    mod.__path__ = []
    mod.__dict__.update(attrs)
    return mod


def _vllm_getattr(name: str):
    """PEP 562 hook of the top-level `vllm`: AsyncLLMEngine is imported on first use (it pulls in
    torch). A plain ModuleType with this hook, not a subclass, so cloudpickle pickles `vllm` by name."""
    if name == "AsyncLLMEngine":
        return _async_llm_engine()
    raise AttributeError(f"repro.cpu's vllm stand-in has no {name!r} (only what OpenRLHF 0.11.2 uses)")


def shim_modules() -> dict[str, types.ModuleType]:
    return {
        "vllm": _module("vllm", __version__=VERSION, SamplingParams=SamplingParams,
                        AsyncEngineArgs=AsyncEngineArgs, __getattr__=_vllm_getattr),
        "vllm.inputs": _module("vllm.inputs", TokensPrompt=TokensPrompt),
        "vllm.utils": _module("vllm.utils", random_uuid=random_uuid),
        "vllm.distributed": _module("vllm.distributed"),
        "vllm.distributed.utils": _module("vllm.distributed.utils", StatelessProcessGroup=StatelessProcessGroup),
        "vllm.distributed.device_communicators": _module("vllm.distributed.device_communicators"),
        "vllm.distributed.device_communicators.pynccl": _module(
            "vllm.distributed.device_communicators.pynccl", PyNcclCommunicator=PyNcclCommunicator),
    }


def install() -> None:
    """Register the stand-ins (idempotent). Refuses to shadow a real vLLM."""
    existing = sys.modules.get("vllm")
    if existing is not None and getattr(existing, "__version__", "") == VERSION:
        return
    if importlib.util.find_spec("vllm") is not None:
        raise RuntimeError("a real vllm is installed; repro.cpu's stand-in is only for CPU machines without it")
    sys.modules.update(shim_modules())

"""A rollout engine with the vLLM AsyncLLMEngine surface OpenRLHF 0.11.2 calls, generating with HF.

OpenRLHF's RolloutRayActor sends one `generate` call per sample and awaits them all at once.
Generating them one by one would make rollouts ~50x slower than needed, so concurrent requests
are gathered for a few milliseconds and generated in left-padded batches (requests with the
same sampling settings only). Which requests share a batch depends on timing, so the samples must
not: each request has its own random stream and every batch one fixed shape (repro/cpu/sampling.py),
so the same seed gives the same rollouts run after run. Weight updates arrive over the gloo group
built by `gloo_sync.StatelessProcessGroup` and are copied into the HF model by parameter name.
On a GPU (rl.rollout_engine hf, for machines without vLLM) the model runs there in the engine's dtype;
sampling stays on the CPU, where each request's generator lives.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import torch

from repro.cpu.gloo_sync import PyNcclCommunicator, StatelessProcessGroup
from repro.cpu.sampling import blocks, generate_block, prompt_width, request_seed

# How long the first request of a batch waits for others before generation starts.
BATCH_WINDOW_S = 0.05
MAX_BATCH = 256


# The engine's attention kernel: transformers' own, so no flash-attn is needed on either device.
ATTENTION = {"cpu": "eager", "cuda": "sdpa"}


def engine_device() -> torch.device:
    """The GPU Ray gave the engine's actor, if any (CPU stages never see one: cuda_redirect leaves
    torch.cuda.is_available() False), else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


@dataclass
class Logprob:
    logprob: float


@dataclass
class CompletionOutput:
    token_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[dict[int, Logprob]] | None = None
    index: int = 0


@dataclass
class RequestOutput:
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool = True


@dataclass
class _Request:
    prompt_ids: list[int]
    params: object
    seed: int  # its own random stream (repro/cpu/sampling.request_seed)
    future: asyncio.Future = field(repr=False)


def _sampling_key(params) -> tuple:
    return (params.temperature, params.top_p, params.top_k, params.max_tokens, params.min_tokens,
            params.logprobs, params.skip_special_tokens)


class _OutputProcessor:
    def __init__(self, engine: "HFAsyncEngine") -> None:
        self._engine = engine

    def get_num_unfinished_requests(self) -> int:
        return self._engine.unfinished


class HFAsyncEngine:
    """vllm.AsyncLLMEngine stand-in: HF causal LM, batched sampling, gloo weight updates."""

    def __init__(self, model_path: str, seed: int, dtype: torch.dtype, max_model_len: int | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(seed)
        self.seed, self.max_model_len = seed, max_model_len
        self.asked: Counter[tuple[int, ...]] = Counter()  # requests per prompt so far: each one's occurrence
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.device = engine_device()
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype, attn_implementation=ATTENTION[
            self.device.type]).to(self.device)
        self.model.eval()
        self.params = dict(self.model.named_parameters())
        self.pending: list[_Request] = []
        self.unfinished = 0
        self.output_processor = _OutputProcessor(self)
        self._flush_task: asyncio.Task | None = None
        self._weight_group = None

    @classmethod
    def from_engine_args(cls, args) -> "HFAsyncEngine":
        # float32 on CPU: bf16 matmuls are slower than fp32 on CPUs without AMX. On a GPU: vLLM's dtype.
        dtype = torch.float32 if engine_device().type == "cpu" else getattr(torch, args.dtype)
        return cls(args.model, args.seed, dtype, args.max_model_len)

    # --- generation -------------------------------------------------------------------------

    async def generate(self, prompt: dict, sampling_params, request_id: str):
        """Async generator with vLLM's signature; yields one final RequestOutput."""
        loop = asyncio.get_running_loop()
        ids = list(prompt["prompt_token_ids"])
        occurrence = self.asked[tuple(ids)]
        self.asked[tuple(ids)] += 1
        request = _Request(ids, sampling_params, request_seed(self.seed, ids, occurrence), loop.create_future())
        self.pending.append(request)
        self.unfinished += 1
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.ensure_future(self._flush_soon())
        try:
            output: CompletionOutput = await request.future
        finally:
            self.unfinished -= 1
        yield RequestOutput(request_id, request.prompt_ids, [output])

    async def _flush_soon(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_S)
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            groups: dict[tuple, list[_Request]] = {}
            for request in batch:
                groups.setdefault(_sampling_key(request.params), []).append(request)
            for requests in groups.values():
                try:
                    outputs = self._generate_batch(requests)
                except Exception as exc:  # surface the error in every waiting request
                    for request in requests:
                        request.future.set_exception(exc)
                    continue
                for request, output in zip(requests, outputs):
                    request.future.set_result(output)
                await asyncio.sleep(0)

    def _generate_batch(self, requests: list[_Request]) -> list[CompletionOutput]:
        """Requests with one sampling setting, in fixed-shape blocks (repro/cpu/sampling.py)."""
        params = requests[0].params
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        longest = max(len(r.prompt_ids) for r in requests)
        width = prompt_width(longest, self.max_model_len, params.max_tokens or 0)
        max_tokens = params.max_tokens or max((self.max_model_len or width + 1024) - width, 1)
        outputs = []
        for rows in blocks(len(requests)):
            chunk = [requests[i] for i in rows]
            sampled = generate_block(
                self.model, [r.prompt_ids for r in chunk], [torch.Generator().manual_seed(r.seed) for r in chunk],
                width=width, max_tokens=max_tokens, min_tokens=params.min_tokens or 0,
                temperature=params.temperature, top_k=params.top_k if params.top_k and params.top_k > 0 else None,
                top_p=params.top_p, pad=pad, eos=self.tokenizer.eos_token_id)
            for s in sampled:
                logprobs = ([{t: Logprob(lp)} for t, lp in zip(s.tokens, s.logprobs)]
                            if params.logprobs is not None else None)
                text = self.tokenizer.decode(s.tokens, skip_special_tokens=params.skip_special_tokens)
                outputs.append(CompletionOutput(s.tokens, text, s.finish_reason, logprobs))
        return outputs

    # --- weight sync (called by OpenRLHF through collective_rpc) ---------------------------

    async def collective_rpc(self, method: str, args: tuple = ()):
        return [getattr(self, f"_rpc_{method}")(*args)]

    def _rpc_init_process_group(self, master_address, master_port, rank_offset, world_size, group_name,
                                backend, use_ray):
        if use_ray:
            raise NotImplementedError("repro.cpu's engine syncs weights over gloo; drop --vllm.sync_with_ray")
        group = StatelessProcessGroup.create(master_address, master_port, rank_offset, world_size)
        self._weight_group = PyNcclCommunicator(group)

    def _rpc_update_weight(self, name, dtype, shape, empty_cache=False):
        weight = torch.empty(shape, dtype=dtype)
        self._weight_group.broadcast(weight, src=0)
        self.params[name].data.copy_(weight.to(self.params[name].dtype))

    # --- lifecycle calls OpenRLHF makes; nothing to do for an in-memory HF model -------------

    async def is_sleeping(self) -> bool:
        return False

    async def sleep(self, level: int = 1) -> None:
        return None

    async def wake_up(self, tags=None) -> None:
        return None

    async def reset_prefix_cache(self) -> None:
        return None

    async def pause_generation(self, mode: str = "keep") -> None:
        return None

    async def resume_generation(self) -> None:
        return None

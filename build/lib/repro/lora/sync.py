"""A LoRA actor reaches the rollout engine as whole weights under the engine's own names.

OpenRLHF 0.11.2's `ActorPPOTrainer.broadcast_to_vllm` sends `actor.model.module.named_parameters()`; for a PEFT
actor those are `base_model.model.<name>.base_layer.weight` and `...lora_A.default.weight`, which neither vLLM nor
the CPU engine holds (vLLM's load_weights has no such names). `install()` (a REPRO_HOOKS entry, run in every Ray
worker) wraps that method: for a PEFT actor, `named_parameters` answers, for that one call, with the plain model's
names and merged tensors (base + B·A·scaling, built one at a time; the actor is never modified), so OpenRLHF's
own send path, group broadcast or CUDA IPC, runs unchanged and the engine generates with merged weights.
"""

from __future__ import annotations

from collections.abc import Iterator

PEFT_PREFIX = "base_model.model."


def merged_named_parameters(peft) -> Iterator[tuple[str, "torch.Tensor"]]:  # noqa: F821
    """(name in the plain model, tensor) for every weight of the merged model; adapters folded in."""
    import torch

    with torch.no_grad():  # the Module method itself: the instance's own is this function during a sync
        for name, param in torch.nn.Module.named_parameters(peft):
            if ".lora_" in name:
                continue
            plain = name.removeprefix(PEFT_PREFIX).replace(".base_layer.", ".")
            if name.endswith(".base_layer.weight"):
                layer = peft.get_submodule(name.removesuffix(".base_layer.weight"))
                delta = sum(layer.get_delta_weight(a) for a in layer.active_adapters)
                yield plain, (param + delta).to(param.dtype)
            else:
                yield plain, param.detach()


def broadcast_merged(original):
    def broadcast_to_vllm(self):
        from peft import PeftModel

        model = self.actor.model.module
        if not isinstance(model, PeftModel):
            return original(self)
        if self.strategy.args.ds.zero_stage == 3:  # partitioned weights cannot be merged one by one here
            raise RuntimeError("a LoRA actor syncs merged weights, which needs ds.zero_stage < 3")
        model.named_parameters = lambda *args, **kwargs: merged_named_parameters(model)
        try:
            return original(self)
        finally:
            del model.named_parameters  # the class's own method again
    broadcast_to_vllm.repro_lora_merged = True
    return broadcast_to_vllm


def install() -> None:
    from openrlhf.trainer.ray.ppo_actor import ActorPPOTrainer

    from repro.versions import require_openrlhf

    require_openrlhf("repro.lora.sync", "a LoRA actor's merged weight sync")
    if not getattr(ActorPPOTrainer.broadcast_to_vllm, "repro_lora_merged", False):
        ActorPPOTrainer.broadcast_to_vllm = broadcast_merged(ActorPPOTrainer.broadcast_to_vllm)

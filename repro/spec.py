"""Run specifications: the pydantic models a recipe validates into.

Every model forbids unknown keys and is frozen, so a typo in a recipe fails loudly
and a resolved spec can be hashed into a deterministic run id. Loading recipes
(`include:` and dotted overrides) lives in repro/recipes.py.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, SerializeAsAny, Tag, field_validator,
                      model_serializer, model_validator)

from repro.errors import RecipeError
from repro.sections import unknown_key, validate_section


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def omit_when_default(data: dict, spec: BaseModel, *fields: str) -> dict:
    """A serializer's dump without the named fields while they hold their declared default (None, False...).

    For fields added after runs existed: left out at their defaults, the spec dump (and so every run id and
    shared-stage key) of a recipe that does not set them stays exactly what it was."""
    for name in fields:
        default = type(spec).model_fields[name].get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        if name in data and data[name] == default:
            data.pop(name)
    return data


class ModelSpec(Strict):
    """Architecture of the base policy every method starts from (initialised by the world)."""

    arch: Literal["llama"] = Field("llama", description="transformers architecture family")
    hidden_size: int = Field(128, gt=0, description="width of the residual stream")
    num_layers: int = Field(4, gt=0, description="number of decoder blocks")
    num_heads: int = Field(4, gt=0, description="attention (query) heads")
    num_kv_heads: int | None = Field(None, gt=0, description="key/value heads, grouped-query attention (Llama 3: 8); "
                                                             "must divide num_heads; None = num_heads")
    intermediate_size: int = Field(352, gt=0, description="MLP width")
    max_position_embeddings: int = Field(256, gt=0, description="longest sequence the model accepts")
    tie_word_embeddings: bool = Field(True, description="share input and output embeddings")
    rope_theta: float = Field(10000.0, gt=0, description="RoPE base frequency (Llama 3: 500000)")
    rms_norm_eps: float = Field(1e-6, gt=0, description="RMSNorm epsilon (Llama 3: 1e-5)")
    vocab_size: int | None = Field(
        None, gt=0, description="rows of the embedding and LM head, e.g. Llama 3's 128256 for a real model's memory: "
        "the world pads its tokenizer to this size with reserved tokens that no text tokenizes to, so every id the "
        "model can sample still decodes; None = the tokenizer's own size")
    init_dtype: Literal["float32", "bfloat16"] = Field(
        "float32", description="dtype the world initialises and saves the random weights in; bfloat16 halves the "
        "world stage's host memory and disk for paper-size models (OpenRLHF trains in bf16 from either)")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "ModelSpec":
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.num_kv_heads is not None and self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads {self.num_heads} is not divisible by num_kv_heads {self.num_kv_heads}")
        return self

    @model_serializer(mode="wrap")
    def _omit_defaults_added_later(self, handler):
        return omit_when_default(handler(self), self, "num_kv_heads", "rope_theta", "rms_norm_eps", "vocab_size",
                                 "init_dtype")


class WorldConfig(Strict):
    """What every world's section has: its registry name. Each world's own Config (repro/worlds/<kind>)
    subclasses this with its data settings and says which kind of base model it starts from."""

    kind: str = Field(description="world registry name")
    base_model: ClassVar[Literal["random_init", "pretrained"]] = "random_init"


class PretrainedModelSpec(Strict):
    """A pretrained base policy from the Hugging Face Hub, pinned to one commit. No weights are fetched by the
    harness: the world stage links the snapshot already in the HF cache (or `path`) as the world's base model."""

    id: str = Field(description="Hub repository id, e.g. 'meta-llama/Meta-Llama-3-8B'")
    revision: str = Field(description="Hub commit SHA the run is pinned to (40 hex digits); recipes whose SHA "
                                      "could not be verified carry a placeholder that fails the world stage")
    path: str | None = Field(None, description="local folder holding this exact revision (a cluster's model "
                                                "store); None = the HF cache snapshot of id@revision")
    chat_template: bool = Field(
        False, description="format every prompt with the tokenizer's chat template, as one user turn (OpenRLHF's "
        "--data.apply_chat_template) in every stage, the harness's own sampling included: instruct models expect "
        "it; base models have no template, so their prompts stay raw text")

    @model_serializer(mode="wrap")
    def _omit_chat_template_when_off(self, handler):
        return omit_when_default(handler(self), self, "chat_template")


def _model_kind(value: Any) -> str:
    # A pretrained model is named by its Hub id; everything else is the random-init architecture.
    if isinstance(value, dict):
        return "pretrained" if "id" in value else "random_init"
    return "pretrained" if isinstance(value, PretrainedModelSpec) else "random_init"


BaseModelSpec = Annotated[
    Annotated[ModelSpec, Tag("random_init")] | Annotated[PretrainedModelSpec, Tag("pretrained")],
    Discriminator(_model_kind),
]


class GenerationSpec(Strict):
    """Sampling used for preference pairs, rollouts and evaluation alike."""

    max_new_tokens: int = Field(48, gt=0, description="tokens generated after the prompt")
    temperature: float = Field(1.0, gt=0, description="softmax temperature")
    top_k: int = Field(0, ge=0, description="0 disables top-k")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus mass; 1 disables")
    batch_size: int = Field(64, gt=0, description="prompts per generate() call")


class PairsSpec(Strict):
    """Preference pairs sampled from the SFT policy and labelled by the gold reward."""

    samples_per_prompt: int = Field(2, ge=2, description="responses drawn per train prompt")
    pairing: Literal["first_two", "best_worst"] = Field(
        "first_two",
        description="which two of a prompt's samples form its pair: the first two drawn, or the gold-best and "
        "gold-worst (a wider gold gap, like UltraFeedback's binarisation); the label is still drawn from "
        "Bradley-Terry",
    )
    label_temperature: float = Field(
        0.1, ge=0, description="Bradley-Terry temperature T: P(a > b) = sigmoid((g_a - g_b) / T); 0 = noiseless"
    )
    test_fraction: float = Field(0.1, gt=0, lt=1, description="pairs held out for preference accuracy")


class LoraSpec(Strict):
    """Low-rank adapters on a trained model (PEFT through OpenRLHF's --ds.lora.* flags); the base stays frozen.
    The official DVPO scripts: actor r 16, alpha 32, dropout 0.05; GVM r 8, alpha 32."""

    rank: int = Field(gt=0, description="adapter rank r")
    alpha: int = Field(16, gt=0, description="scaling alpha (the update is scaled by alpha / r)")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the adapter's input while training")
    target_modules: list[str] = Field(["all-linear"], min_length=1,
                                      description="modules that get adapters (PEFT names; all-linear = every "
                                                  "linear layer but the output head)")


class TrainSpec(Strict):
    """Optimiser and batch settings shared by every OpenRLHF training stage."""

    lr: float = Field(1e-3, gt=0, description="peak learning rate (AdamW)")
    epochs: int = Field(1, gt=0, description="passes over the training data")
    batch_size: int = Field(32, gt=0, description="global batch size per optimiser step")
    micro_batch_size: int = Field(8, gt=0, description="batch size per forward/backward")
    max_len: int = Field(128, gt=0, description="longest tokenised sample; longer ones are truncated")
    zero_stage: int = Field(2, ge=0, le=3, description="DeepSpeed ZeRO stage")
    param_dtype: Literal["bf16", "fp16"] = Field("bf16", description="training dtype (fp16 fails on CPU)")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="fraction of steps with linear warm-up")
    max_samples: int | None = Field(None, gt=0, description="cap on training rows; None uses all")

    @model_validator(mode="after")
    def _batches_divide(self) -> "TrainSpec":
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"batch_size {self.batch_size} is not a multiple of micro_batch_size {self.micro_batch_size}"
            )
        return self


class SFTSpec(TrainSpec):
    """Supervised fine-tuning shared by every method, or (skip) the base model taken as the SFT policy."""

    skip: bool = Field(
        False, description="train no SFT: every method starts from the world's base model as-is (an instruct "
        "model, as in the paper's instruction setting); the `sft` stage then only links the base model where "
        "the SFT policy would be, and the training fields of this section are unused")

    @model_serializer(mode="wrap")
    def _omit_skip_when_off(self, handler):
        return omit_when_default(handler(self), self, "skip")


class RLSpec(TrainSpec):
    """Rollout and actor settings shared by every online RL method (PPO, GRPO, REINFORCE++, DVPO).

    One section, so the methods differ only in how they score and credit samples. `lr`, `epochs`
    (PPO epochs per rollout batch), `batch_size` (samples per actor optimiser step) and
    `max_samples` (cap on train prompts) keep their TrainSpec meanings; `max_len` bounds
    prompt + response."""

    rollout_samples: int = Field(64, gt=0, description="samples generated per RL step (prompts x samples per prompt)")
    rollout_micro_batch_size: int = Field(16, gt=0, description="samples per forward pass when scoring rollouts")
    episodes: int = Field(1, gt=0, description="passes over the train prompts")
    kl_coef: float = Field(0.05, ge=0, description="initial KL penalty coefficient (k1 estimator, in the reward)")
    kl_target: float | None = Field(None, gt=0, description="adaptive KL target; None keeps kl_coef fixed")
    kl_horizon: int = Field(10000, gt=0, description="adaptive KL controller horizon (samples)")
    eps_clip: float = Field(0.2, gt=0, description="PPO clip range of the policy ratio")
    rollout_memory_fraction: float = Field(
        0.5, gt=0, lt=1, description="GPU: share of each GPU vLLM preallocates (weights + KV cache) when colocated "
        "with the trained models; it is in every RL method's memory peak alike (CPU: unused)")
    rollout_sleep: bool = Field(False, description="GPU: vLLM sleeps (frees its share) while the models train, "
                                                   "OpenRLHF's --vllm.enable_sleep; peaks then reflect training")
    full_determinism: bool = Field(
        False, description="GPU: OpenRLHF's --train.full_determinism_enable (vLLM in-process, deterministic "
        "kernels; slower), so reruns can repeat; CPU runs repeat bit for bit without it (repro/cpu/sampling.py)")
    rollout_engine: Literal["vllm", "hf"] | None = Field(
        None, description="what generates rollouts; None = vllm on GPU, hf on CPU. hf = the harness's HF-generate "
                          "engine (repro/cpu/hf_engine.py) in place of vLLM, on the GPU too (for machines without "
                          "vLLM): no preallocation, samples independent of batching, weights synced over gloo "
                          "through host memory. vllm needs a GPU")
    lora: LoraSpec | None = Field(
        None, description="train the actor as LoRA adapters (the reference stays the SFT policy, i.e. the base with "
                          "the adapter off); a merge stage then writes the full policy that evaluation reads. "
                          "None = full fine-tuning")

    @model_serializer(mode="wrap")
    def _omit_rollout_memory_at_defaults(self, handler):
        return omit_when_default(handler(self), self, "rollout_memory_fraction", "rollout_sleep", "full_determinism",
                                 "lora", "rollout_engine")


class EvalSpec(BaseModel):
    """What the eval stage measures on held-out prompts. An evaluator with options of its own owns a section
    here, `eval.<evaluator>`, validated by that evaluator's Config (e.g. eval.mt_bench)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    evaluators: list[str] = Field(["gold"], min_length=1, description="evaluator registry names")
    n_prompts: int = Field(256, gt=0, description="held-out prompts evaluated (<= world.n_test_prompts)")
    samples_per_prompt: int = Field(2, gt=0, description="policy samples per prompt")
    every_steps: int | None = Field(None, gt=0, description="learning curve: save the policy every N training steps "
                                                             "(RL methods and DPO) and evaluate each save with the "
                                                             "curve evaluators; None = the final policy only")
    curve_evaluators: list[str] | None = Field(None, description="evaluators run on every saved policy (a subset "
                                                                 "of evaluators); None = the cheap ones (gold, RM "
                                                                 "judge), API judges stay final-only")

    @model_serializer(mode="wrap")
    def _omit_curve_when_off(self, handler):
        return omit_when_default(handler(self), self, "every_steps", "curve_evaluators")

    def curve(self) -> list[str]:
        """The evaluators that score every saved policy when every_steps is set."""
        from repro.registry import EVALUATORS

        if self.curve_evaluators is not None:
            return list(self.curve_evaluators)
        return [name for name in self.evaluators if EVALUATORS.get(name).cheap]

    @model_validator(mode="after")
    def _evaluator_sections(self) -> "EvalSpec":
        # Sections are extra keys: each must belong to a registered evaluator with a Config, and is replaced by
        # its validated config (so the dump, and every run id, holds its defaults as before). An absent
        # section is not dumped at all.
        from repro.registry import EVALUATORS

        extra = self.__pydantic_extra__
        for key in [k for k, v in extra.items() if v is None]:
            del extra[key]
        for key, data in extra.items():
            config = EVALUATORS.get(key).Config if key in EVALUATORS.names() else None
            if config is None:
                sectioned = [n for n in EVALUATORS.names() if EVALUATORS.get(n).Config is not None]
                raise unknown_key(f"eval.{key}", key, [*type(self).model_fields, *sectioned])
            extra[key] = validate_section(config, data, prefix=f"eval.{key}.")
        for name in self.curve_evaluators or []:
            if name not in self.evaluators:
                close = difflib.get_close_matches(name, self.evaluators, n=1)
                raise RecipeError(f"eval.curve_evaluators names '{name}', which eval.evaluators does not run."
                                  + (f" Did you mean '{close[0]}'?" if close else "")
                                  + f" Valid: {', '.join(self.evaluators)}")
        for name in self.evaluators:
            if EVALUATORS.get(name).Config is not None and name not in extra:
                fields = EVALUATORS.get(name).Config.model_fields
                required = [k for k, f in fields.items() if f.is_required()]
                raise RecipeError(f"eval.evaluators names '{name}', so the recipe needs an 'eval.{name}' section "
                                  f"(required keys: {', '.join(required) or 'none, {} takes every default'}; "
                                  f"all keys: {', '.join(fields)})")
        return self

    def section(self, evaluator: str) -> BaseModel | None:
        """An evaluator's validated section (eval.<evaluator>), None when the recipe has none."""
        return (self.__pydantic_extra__ or {}).get(evaluator)


class CheckpointSpec(Strict):
    """Mid-run checkpoints of every training stage (SFT, RM, DPO, the GVM, Ray PPO), so that a stage stopped
    part-way (a Slurm requeue on timeout or preemption, a killed or interrupted run) continues from its last
    checkpoint when it runs again instead of from step 0. OpenRLHF saves by optimiser/RL steps only."""

    every_steps: int | None = Field(None, gt=0, description="save every N steps (OpenRLHF's --ckpt.save_steps) and "
                                                            "resume from the latest on a re-run; None = no mid-run "
                                                            "checkpoints, a stopped stage starts over")
    keep: int = Field(2, gt=0, description="checkpoints kept per stage, newest first (--ckpt.max_num)")
    stages: list[str] | None = Field(None, description="which training stages checkpoint (sft, rm, dpo, gvm, "
                                                       "policy); None = every one")

    @model_serializer(mode="wrap")
    def _omit_stages_when_all(self, handler):
        return omit_when_default(handler(self), self, "stages")


class Resources(Strict):
    """Where and with what a stage runs; the Slurm launcher maps these to job options."""

    device: Literal["cpu", "gpu"] = Field("cpu", description="cpu runs OpenRLHF through repro/cpu")
    nodes: int = Field(1, gt=0, description="nodes per stage")
    gpus_per_node: int = Field(0, ge=0, description="GPUs per node (0 on cpu)")
    cpus: int = Field(2, gt=0, description="CPU cores per task")
    threads: int = Field(1, gt=0, description="torch/OpenMP threads per process (1 is fastest on a loaded 2-core machine)")
    mem_gb: int = Field(16, gt=0, description="host memory per node")
    time_min: int = Field(60, gt=0, description="wall-clock limit per stage")
    attention: Literal["flash_attention_2", "sdpa", "eager"] | None = Field(
        None, description="attention kernel of every OpenRLHF stage (--ds.attn_implementation); None = "
                          "flash_attention_2 on GPU, eager on CPU. sdpa or eager run on GPUs without flash-attn: "
                          "the flash_attn names OpenRLHF imports then come from repro/cpu/flash_attn_shim.py")

    @property
    def attention_kernel(self) -> str:
        # transformers 5 refuses flash_attention_2 without flash-attn, which CPU machines lack.
        return self.attention or ("eager" if self.device == "cpu" else "flash_attention_2")

    def single_node(self) -> "Resources":
        """For stages that are one Python process (world, pairs, eval): one node, one GPU at most."""
        return self.model_copy(update={"nodes": 1, "gpus_per_node": min(self.gpus_per_node, 1)})

    @model_validator(mode="after")
    def _gpus_match_device(self) -> "Resources":
        if self.device == "gpu" and self.gpus_per_node == 0:
            raise ValueError("device 'gpu' needs gpus_per_node >= 1")
        if self.device == "cpu" and self.gpus_per_node:
            raise ValueError("device 'cpu' takes gpus_per_node 0")
        if self.device == "cpu" and self.attention == "flash_attention_2":
            raise ValueError("attention 'flash_attention_2' needs a GPU (flash-attn has no CPU build): "
                             "use eager or sdpa on cpu")
        return self

    @model_serializer(mode="wrap")
    def _omit_attention_when_default(self, handler):
        return omit_when_default(handler(self), self, "attention")


class WandbSpec(Strict):
    """Weights & Biases tracking of a run's stages (repro/launch/wandb_log.py). Tracking only: left out of the
    spec's dump, so turning it on changes no run id and no stage key. WANDB_API_KEY comes from the environment."""

    mode: Literal["disabled", "offline", "online"] = Field("disabled", description="offline writes run folders "
                                                                                  "under each stage's folder")
    project: str = Field("repro", min_length=1, description="W&B project")
    entity: str | None = Field(None, description="W&B entity (team or user); None = the key's default")


class RunSpec(Strict):
    """A fully resolved recipe: everything a run depends on, hashed into its id."""

    setting: str = Field(description="name of the setting (recipe folder), e.g. 'imdb'")
    seed: int = Field(0, ge=0, description="seed for policy training and sampling (the world has its own)")
    world_seed: int = Field(0, ge=0, description="seed of the world (splits, tokenizer, base init, gold)")
    world: SerializeAsAny[WorldConfig] = Field(
        description="data, tokenizer, base model and gold reward; `kind` picks the world, whose Config validates "
                    "the rest (repro/worlds/<kind>)")
    model: BaseModelSpec = Field(description="base policy: a random-init architecture (imdb) or a pinned "
                                             "pretrained model (ultrafeedback)")
    generation: GenerationSpec = Field(GenerationSpec(), description="sampling settings")
    pairs: PairsSpec = Field(PairsSpec(), description="preference-pair construction")
    sft: SFTSpec = Field(description="supervised fine-tuning shared by every method (or skipped)")
    reward_model: TrainSpec = Field(
        TrainSpec(lr=5e-4, epochs=1, batch_size=32, micro_batch_size=16, max_len=96),
        description="reward model on the preference pairs, shared by PPO, GRPO and REINFORCE++")
    rl: RLSpec = Field(RLSpec(lr=1e-4, batch_size=32, micro_batch_size=16, max_len=96),
                       description="rollout and actor settings shared by every online RL method")
    methods: dict[str, dict[str, Any]] = Field(
        {}, description="per-method sections, each validated by that method's Config"
    )
    eval: EvalSpec = Field(default_factory=EvalSpec, description="evaluation on held-out prompts")
    resources: Resources = Field(Resources(), description="resources per stage")
    checkpoint: CheckpointSpec = Field(CheckpointSpec(), description="mid-run checkpoints and resume of training "
                                                                     "stages")
    wandb: WandbSpec = Field(WandbSpec(), exclude=True, description="Weights & Biases tracking (not part of the "
                                                                    "run's identity)")

    @model_serializer(mode="wrap")
    def _omit_checkpoint_when_off(self, handler):
        return omit_when_default(handler(self), self, "checkpoint")

    @field_validator("world", mode="before")
    @classmethod
    def _world_config(cls, value: Any) -> Any:
        # A recipe without world.kind keeps meaning imdb, as it did when imdb was the only world.
        if isinstance(value, WorldConfig) or not isinstance(value, dict):
            return value
        from repro.registry import WORLDS

        return validate_section(WORLDS.get(value.get("kind", "imdb")).Config, value, prefix="world.")

    @model_validator(mode="after")
    def _model_fits_world(self) -> "RunSpec":
        # A world says which kind of base model it starts from: imdb initialises its own, ultrafeedback links one.
        wants = PretrainedModelSpec if self.world.base_model == "pretrained" else ModelSpec
        if not isinstance(self.model, wants):
            what = "pretrained (id, revision)" if wants is PretrainedModelSpec else "random-init architecture"
            raise ValueError(f"world '{self.world.kind}' needs a {what} model section")
        return self

    @model_validator(mode="after")
    def _engine_fits_device(self) -> "RunSpec":
        if self.resources.device == "cpu" and self.rl.rollout_engine == "vllm":
            raise ValueError("rl.rollout_engine 'vllm' needs resources.device 'gpu' (vLLM has no CPU build here); "
                             "CPU runs generate with 'hf'")
        return self

    @property
    def rollout_engine(self) -> str:
        """The engine that generates rollouts: the recipe's, else the device's default."""
        return self.rl.rollout_engine or ("hf" if self.resources.device == "cpu" else "vllm")

    @property
    def uses_chat_template(self) -> bool:
        """Whether prompts are formatted with the tokenizer's chat template (model.chat_template); the one
        place stage builders ask, since only a pretrained model section has the switch."""
        return getattr(self.model, "chat_template", False)

    def digest(self, *parts: str) -> str:
        """A short content hash of this spec plus extra parts (method name...)."""
        payload = json.dumps([self.model_dump(mode="json"), parts], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:10]


def section_digest(*sections: BaseModel | dict | str | int) -> str:
    """Hash of a few spec sections: the cache key of a shared stage (world, SFT, pairs)."""
    payload = [s.model_dump(mode="json") if isinstance(s, BaseModel) else s for s in sections]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]

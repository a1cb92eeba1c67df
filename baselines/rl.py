"""Online RL through OpenRLHF's Ray PPO (openrlhf.cli.train_ppo_ray), shared by every RL method.

PPO, GRPO, REINFORCE++, RLOO and DVPO render their stage here from the same `rl` recipe section,
so they share actor, reference, rollout engine, experience maker, policy loss, KL handling and
DeepSpeed settings, and differ only in the pieces each method names: the advantage estimator,
whether a critic or value model is present, and where rewards come from. Every argument that
OpenRLHF would otherwise default or rewrite is set explicitly here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from repro.errors import RecipeError
from repro.layout import Layout
from repro.lora import SYNC_HOOK
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.pipeline.curve import Saves
from repro.spec import RunSpec, Strict
from repro.stages import Stage, python_stage
from repro.stages.env import stage_env
from repro.stages.openrlhf import (EFFECTIVE_ARGS_ENV, HOOKS_ENV, REQUIRES, attention, lora_flags, prompt_flags,
                                   ray_prefix, render_flags, snapshot_flags)

RL_REQUIRES = REQUIRES + ["ray"]


class RLMethodConfig(Strict):
    """What an RL method adds to the shared `rl` section (methods.<name>)."""

    n_samples_per_prompt: int = Field(1, gt=0, description="samples per prompt; rl.rollout_samples stays fixed")


@dataclass
class RLPlan:
    """The method-specific part of a Ray PPO stage."""

    estimator: str
    n_samples_per_prompt: int
    reward_model: Path | None = None  # a trained reward model, or None when reward_func is set
    reward_func: Path | None = None  # a Python file with reward_func(queries, prompts, labels)
    critic: Path | None = None  # critic (trained) or value model (frozen, DVPO) initial weights
    extra_flags: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    critic_with_reference: bool = False  # the critic's model lives in the reference's actors (dvpo/frozen_pair.py)

    def model_groups(self, kl_coef: float) -> int:
        """Ray model groups: actor and rollout engine, plus reference, critic and reward model if present."""
        shared = self.critic_with_reference and kl_coef > 0
        return 2 + (kl_coef > 0) + (self.critic is not None and not shared) + (self.reward_model is not None)


def placement_flags(spec: RunSpec) -> dict[str, Any]:
    """CPU: one logical GPU per group, nothing colocated. GPU: every group on the node's GPUs,
    colocated (the paper's 8-GPU setting), one rollout engine per GPU with rl's memory share. The HF
    engine (rl.rollout_engine hf) preallocates nothing, cannot sleep and takes its weights over gloo."""
    resources, rl = spec.resources, spec.rl
    if resources.device == "cpu":
        per_group, colocate = 1, False
    else:
        per_group, colocate = resources.gpus_per_node, True
    hf = spec.rollout_engine == "hf"
    flags = {f"{group}.num_nodes": resources.nodes for group in ("actor", "ref", "critic", "reward")}
    flags.update({f"{group}.num_gpus_per_node": per_group for group in ("actor", "ref", "critic", "reward")})
    flags.update({
        "vllm.num_engines": per_group * resources.nodes,
        "vllm.tensor_parallel_size": 1,
        "vllm.sync_backend": "gloo" if hf else "nccl",
        "vllm.gpu_memory_utilization": rl.rollout_memory_fraction if colocate else 0.9,
        "vllm.enable_sleep": colocate and rl.rollout_sleep and not hf,
        "train.colocate_all": colocate,
        "train.full_determinism_enable": rl.full_determinism and resources.device == "gpu",
        "ds.attn_implementation": attention(resources),
    })
    return flags


def rollout_engine_label(spec: RunSpec) -> str:
    """What placement_flags gives the rollout engine, in words, for the run record and the tables."""
    flags = placement_flags(spec)
    if spec.rollout_engine == "hf":
        # One engine gets every prompt, so each request's seed is fixed; several share prompts by load (timing).
        repeats = "repeatable" if flags["vllm.num_engines"] == 1 else "not repeatable: prompts spread by load"
        where = "CPU" if spec.resources.device == "cpu" else f"GPU, colocated {flags['train.colocate_all']}"
        return (f"{where}: {flags['vllm.num_engines']} HF-generate engine(s) in place of vLLM (repro/cpu/hf_engine.py), "
                f"no preallocation, samples independent of batching ({repeats})")
    return (f"vLLM: {flags['vllm.num_engines']} engine(s), gpu_memory_utilization {flags['vllm.gpu_memory_utilization']} "
            f"preallocated per GPU, colocated {flags['train.colocate_all']}, "
            f"sleep {'on' if flags['vllm.enable_sleep'] else 'off'}, "
            f"full_determinism {'on' if flags['train.full_determinism_enable'] else 'off'}")


class RayPPOMethod(Method):
    """A method whose training is one OpenRLHF Ray PPO stage, `policy`, fed by a rollout engine."""

    train_stage = "policy"
    sections = frozenset({"rl", "reward_model"})

    def rollout_engine(self, spec: RunSpec) -> str | None:
        return rollout_engine_label(spec)


def check_rollout_batches(spec: RunSpec) -> None:
    """OpenRLHF hands every actor process at least one rollout micro-batch and asserts so only once Ray is up;
    say it before anything runs, with the keys to change (it bites when a recipe moves to more nodes)."""
    r, rl = spec.resources, spec.rl
    per_node = 1 if r.device == "cpu" else r.gpus_per_node
    actors, batches = r.nodes * per_node, rl.rollout_samples // rl.rollout_micro_batch_size
    if batches < actors:
        raise RecipeError(
            f"rl.rollout_samples {rl.rollout_samples} // rl.rollout_micro_batch_size {rl.rollout_micro_batch_size} = "
            f"{batches} rollout micro-batch(es), fewer than the {actors} actor processes of resources (nodes "
            f"{r.nodes} x {per_node} per node): set rl.rollout_micro_batch_size to at most "
            f"{max(rl.rollout_samples // actors, 1)} or raise rl.rollout_samples")


def ray_ppo_flags(spec: RunSpec, pipe: Pipeline, plan: RLPlan, workdir: Path) -> dict[str, Any]:
    check_rollout_batches(spec)
    rl, gen = spec.rl, spec.generation
    prompts = rl.rollout_samples // plan.n_samples_per_prompt
    flags: dict[str, Any] = {
        "actor.model_name_or_path": pipe.sft_model,
        "reward.model_name_or_path": plan.reward_model,
        "reward.remote_url": plan.reward_func,
        "critic.model_name_or_path": plan.critic,
        "data.prompt_dataset": pipe.world_files.prompts_train,
        "data.input_key": "prompt",
        **prompt_flags(spec),
        "data.max_samples": rl.max_samples,
        "data.max_len": rl.max_len,
        "algo.advantage.estimator": plan.estimator,
        "rollout.n_samples_per_prompt": plan.n_samples_per_prompt,
        "rollout.batch_size": prompts,
        "rollout.micro_batch_size": rl.rollout_micro_batch_size,
        "rollout.max_new_tokens": gen.max_new_tokens,
        "rollout.temperature": gen.temperature,
        "rollout.top_p": gen.top_p,
        "train.batch_size": rl.batch_size,
        "train.micro_batch_size": rl.micro_batch_size,
        "train.max_epochs": rl.epochs,
        "train.num_episodes": rl.episodes,
        "train.seed": spec.seed,
        "actor.adam.lr": rl.lr,
        "actor.lr_warmup_ratio": rl.warmup_ratio,
        "actor.eps_clip": rl.eps_clip,
        "algo.kl.init_coef": rl.kl_coef,
        "algo.kl.target": rl.kl_target,
        "algo.kl.horizon": rl.kl_horizon,
        "algo.kl.estimator": "k1",
        "ds.zero_stage": rl.zero_stage,
        "ds.param_dtype": rl.param_dtype,
        **lora_flags(rl.lora, rl.zero_stage, "rl"),
        "ckpt.output_dir": workdir / "model",
        "ckpt.path": workdir / "ckpt",
        "logger.tensorboard_dir": workdir / "tb",
        "logger.wandb.run_name": plan.estimator,
        **placement_flags(spec),
        **plan.extra_flags,
        **snapshot_flags(spec, workdir, "policy"),
    }
    return flags


def finish_policy(spec: RunSpec, layout: Layout, pipe: Pipeline, *stages: Stage) -> list[Stage]:
    """The pipeline after the method's stages, evaluating the policy the Ray PPO stage `policy` saved; with a
    LoRA actor (rl.lora) a merge stage first writes base + adapter as one model, snapshots included, and the
    evaluation and the learning curve read those. One step of the curve is rl.rollout_samples samples."""
    trained = layout.stage_dir("policy")
    if spec.rl.lora is None:
        return pipe.finish(*stages, policy=trained / "model", needs=["policy"],
                           saves=Saves(trained, spec.rl.rollout_samples))
    merged = layout.stage_dir("policy-merge")
    merge = python_stage(spec, "policy-merge", "repro.lora.merge",
                         ["--base", str(pipe.sft_model), "--trained", str(trained), "--out", str(merged)], merged,
                         needs=["policy"], inputs=[str(pipe.sft_model), str(trained / "model")],
                         requires=["peft", "transformers"])
    return pipe.finish(*stages, merge, policy=merged / "model", needs=["policy-merge"],
                       saves=Saves(trained, spec.rl.rollout_samples, snapshot_dir=merged / "ckpt"))


def ray_ppo_stage(spec: RunSpec, layout: Layout, pipe: Pipeline, plan: RLPlan, name: str,
                  needs: list[str]) -> Stage:
    workdir = layout.stage_dir(name)
    flags = ray_ppo_flags(spec, pipe, plan, workdir)
    groups = plan.model_groups(spec.rl.kl_coef)
    env = {**stage_env(spec.resources, spec.rollout_engine), EFFECTIVE_ARGS_ENV: str(workdir / "effective_args.json"), **plan.extra_env}
    if spec.rl.lora:  # the rollout engine gets merged weights under its own names
        env[HOOKS_ENV] = ",".join(filter(None, [env.get(HOOKS_ENV), SYNC_HOOK]))
    return Stage(
        name=name,
        argv=ray_prefix("openrlhf.cli.train_ppo_ray", spec.resources, groups) + render_flags(flags),
        env=env,
        resources=spec.resources,
        workdir=str(workdir),
        needs=needs,
        inputs=[str(pipe.sft_model), str(pipe.world_files.prompts_train), *plan.inputs],
        requires=RL_REQUIRES,
        # tokens: counted from OpenRLHF's per-step rollout lengths (repro.metrics.summary.rollout_tokens)
        tensorboard_dir=str(workdir / "tb"),
        ray_cluster=True,
        ray_gpus_per_node=groups if spec.resources.device == "cpu" else 0,
    )

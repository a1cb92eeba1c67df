"""Render OpenRLHF stages: dotted flags, the launcher prefix for CPU or GPU, and the one trainer-stage builder.

Pure functions: the same spec always renders the same argv (golden-tested, and every
flag is checked against the installed CLI's --help).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from repro.errors import RecipeError
from repro.spec import CheckpointSpec, LoraSpec, Resources, RunSpec, TrainSpec
from repro.stages import Stage, TokenCount
from repro.stages.env import gpu_shims, stage_env

# Modules an OpenRLHF stage imports; checked before anything runs.
REQUIRES = ["torch", "deepspeed", "openrlhf"]
# Where repro.launch.openrlhf_entry writes the arguments an OpenRLHF CLI really trained with.
EFFECTIVE_ARGS_ENV = "REPRO_EFFECTIVE_ARGS"
# "module:function,...": hooks run in the Ray driver and every Ray worker (repro/launch/openrlhf_entry.py).
HOOKS_ENV = "REPRO_HOOKS"


def render_flags(flags: dict[str, Any]) -> list[str]:
    """{'a.b': 1, 'c': True, 'd': False, 'e': None, 'f': [1, 2]} -> --a.b 1 --c --f 1 2."""
    argv: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        if value is True:
            argv.append(f"--{name}")
        elif isinstance(value, (list, tuple)):
            argv += [f"--{name}", *map(str, value)]
        else:
            argv += [f"--{name}", str(value)]
    return argv


def through_entry(module: str, resources: Resources) -> list[str]:
    """The module, or, where the GPU stage needs stand-ins installed first (gpu_shims), the module behind
    repro.launch.openrlhf_entry, which installs them. The default GPU stack runs the module itself."""
    return ["repro.launch.openrlhf_entry", module] if gpu_shims(resources) else [module]


def launch_prefix(module: str, resources: Resources) -> list[str]:
    """CPU: one process through the portability layer. GPU: DeepSpeed's launcher on the local GPUs."""
    if resources.device == "cpu":
        return [sys.executable, "-m", "repro.cpu.run", module]
    if resources.nodes > 1:
        # ${...} are filled per node from the Slurm allocation (repro/launch/stage_job.py).
        return ["torchrun", "--nnodes", str(resources.nodes), "--nproc_per_node", str(resources.gpus_per_node),
                "--node_rank", "${NODE_RANK}", "--master_addr", "${MASTER_ADDR}", "--master_port", "${MASTER_PORT}",
                "-m", *through_entry(module, resources)]
    return ["deepspeed", "--num_gpus", str(resources.gpus_per_node), "--module", *through_entry(module, resources)]


def single_process_prefix(module: str, resources: Resources) -> list[str]:
    """One Python process that imports openrlhf (e.g. a scoring script): through the CPU layer on CPU."""
    if resources.device == "cpu":
        return [sys.executable, "-m", "repro.cpu.run", module]
    return [sys.executable, "-m", *through_entry(module, resources)]


def ray_prefix(module: str, resources: Resources, model_groups: int) -> list[str]:
    """Ray PPO's driver. CPU: the CPU layer starts a private loopback Ray cluster with one logical
    GPU per model group. GPU: OpenRLHF's ray.init joins the cluster the node (or the Slurm job's
    Ray bootstrap) runs; the entry records the effective arguments either way."""
    if resources.device == "cpu":
        return [sys.executable, "-m", "repro.cpu.run", "--ray", str(model_groups), module]
    return [sys.executable, "-m", "repro.launch.openrlhf_entry", module]


def attention(resources: Resources) -> str:
    return resources.attention_kernel


def prompt_flags(spec: RunSpec) -> dict[str, Any]:
    """How every OpenRLHF stage turns a prompt into model text, so all stages agree: the tokenizer's chat
    template around one user turn (instruct models, model.chat_template), or the raw text. The empty
    input_template stops train_sft from wrapping raw prompts in its default 'User: {}\\nAssistant: '."""
    return {"data.input_template": "", "data.apply_chat_template": spec.uses_chat_template}


def train_flags(train: TrainSpec, spec: RunSpec, workdir: Path, run_name: str) -> dict[str, Any]:
    """Flags every OpenRLHF trainer shares, set explicitly so no default drifts between methods. Outputs go
    to <workdir>/model, curves to <workdir>/tb, checkpoints (when the recipe asks) to <workdir>/ckpt."""
    return {
        "train.seed": spec.seed,
        "train.max_epochs": train.epochs,
        "train.batch_size": train.batch_size,
        "train.micro_batch_size": train.micro_batch_size,
        "data.max_len": train.max_len,
        "data.max_samples": train.max_samples,
        "ds.zero_stage": train.zero_stage,
        "ds.param_dtype": train.param_dtype,
        "ds.attn_implementation": attention(spec.resources),
        "adam.lr": train.lr,
        "lr_warmup_ratio": train.warmup_ratio,
        "ckpt.output_dir": str(workdir / "model"),
        "logger.tensorboard_dir": str(workdir / "tb"),
        "logger.wandb.run_name": run_name,
        **checkpoint_flags(spec.checkpoint, workdir, run_name),
    }


def lora_flags(lora: LoraSpec | None, zero_stage: int, section: str) -> dict[str, Any]:
    """OpenRLHF's --ds.lora.* flags (nothing for full fine-tuning). `all-linear` is PEFT's shorthand only as a
    bare string, which is OpenRLHF's default; passed as a one-item list it would name a module, so it is left
    to the default. LoRA weights are merged from whole parameters (the actor's on their way to the rollout
    engine, repro/lora/sync.py; the GVM's before it is saved), which ZeRO-3 partitions: refused before any run."""
    if lora is None:
        return {}
    if zero_stage == 3:
        raise RecipeError(f"{section}.lora needs {section}.zero_stage 0, 1 or 2: LoRA weights are merged from "
                          "whole parameters (for the rollout engine and the saved model), which ZeRO-3 partitions")
    targets = None if lora.target_modules == ["all-linear"] else lora.target_modules
    return {"ds.lora.rank": lora.rank, "ds.lora.alpha": lora.alpha, "ds.lora.dropout": lora.dropout,
            "ds.lora.target_modules": targets}


def snapshot_flags(spec: RunSpec, workdir: Path, stage: str) -> dict[str, Any]:
    """A policy-producing stage's saves for the learning curve (eval.every_steps): OpenRLHF's Hugging Face
    snapshots, <workdir>/ckpt/global_step<N>_hf, at every multiple of N, on top of the resume checkpoints
    checkpoint_flags asks for (saved every gcd of both; DeepSpeed states only when resuming is asked).
    Nothing when no curve is asked, so those stages render exactly as before."""
    flags = checkpoint_flags(spec.checkpoint, workdir, stage)
    every = spec.eval.every_steps
    if every is None:
        return flags
    resume = flags.get("ckpt.save_steps")
    return {**flags, "ckpt.save_steps": math.gcd(every, resume) if resume else every,
            "ckpt.path": str(workdir / "ckpt"), "ckpt.save_hf": True, "ckpt.disable_ds": not resume}


def checkpoint_flags(checkpoint: CheckpointSpec, workdir: Path, stage: str) -> dict[str, Any]:
    """OpenRLHF's own save-and-resume flags (every trainer and Ray PPO take the same ones): save every N
    steps into <workdir>/ckpt, keep the newest few, and load the latest there when the stage starts again.
    Nothing at all when the recipe asks for no checkpoints (or not for this stage), so those stages render
    exactly as before."""
    if checkpoint.every_steps is None or (checkpoint.stages is not None and stage not in checkpoint.stages):
        return {}
    return {"ckpt.save_steps": checkpoint.every_steps, "ckpt.path": str(workdir / "ckpt"),
            "ckpt.max_num": checkpoint.keep, "ckpt.load_enable": True}


def python_module_argv(module: str, resources: Resources, flags: dict[str, Any]) -> list[str]:
    return launch_prefix(module, resources) + render_flags(flags)



def trainer_stage(spec: RunSpec, name: str, module: str, flags: dict[str, Any], workdir: Path, needs: list[str],
                  inputs: list[str], tokens: TokenCount, **fields) -> Stage:
    """A stage that trains with one OpenRLHF-style trainer CLI (SFT, RM, DPO, the GVM): the recipe's resources,
    the shared stage environment, its tensorboard folder summarised into the record."""
    return Stage(name=name, argv=python_module_argv(module, spec.resources, flags), env=stage_env(spec.resources),
                 resources=spec.resources, workdir=str(workdir), needs=needs, inputs=inputs, requires=REQUIRES,
                 tokens=tokens, tensorboard_dir=str(workdir / "tb"), **fields)

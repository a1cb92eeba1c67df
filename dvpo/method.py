"""The `dvpo` method: SFT (shared) -> GVM pretraining on the preference pairs -> policy
optimisation with the GVM frozen in the critic's place and no reward model -> evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from baselines.rl import RayPPOMethod, RLMethodConfig, RLPlan, finish_policy, ray_ppo_stage
from dvpo.gvm.config import GVMConfig
from dvpo.hook_env import (ADVANTAGE_WHITENING_ENV, DIGEST_ENV, FROZEN_MODELS_ENV, GVM_CONTEXT_ENV, MODE_ENV,
                           VALUE_WHITENING_ENV)
from repro.layout import Layout
from repro.pipeline import Pipeline
from repro.pipeline.reward_model import RewardModel
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount
from repro.stages.openrlhf import HOOKS_ENV, lora_flags, train_flags, trainer_stage
from repro.worlds import PairFiles

ZERO_REWARD = Path(__file__).parent / "zero_reward.py"


class DVPOConfig(RLMethodConfig):
    """DVPO's section of a recipe (methods.dvpo); rollout and actor settings live in `rl`."""

    gvm: GVMConfig = Field(GVMConfig(), description="global value model pretraining")
    advantage: Literal["gae_frozen_v", "q_as_advantage"] = Field(
        "gae_frozen_v", description="gae_frozen_v: the official code; q_as_advantage: the paper's A = Q")
    value_whitening: Literal["batch", "official_chunk"] = Field(
        "batch", description="frozen values whitened over the rollout batch's response tokens (batch), or as the "
                             "official code does: TRL's unmasked whiten over every position of each chunk of "
                             "value_whitening_chunk rows (official_chunk)")
    value_whitening_chunk: int = Field(1, gt=0, description="rows per whitening chunk (the official scripts: 1)")
    advantage_whitening: Literal["openrlhf", "trl"] = Field(
        "openrlhf", description="advantages whitened by OpenRLHF (biased variance) or by TRL's masked_whiten "
                                "(unbiased masked variance, the official code)")
    frozen_models: Literal["one_process", "separate"] = Field(
        "one_process", description="the reference policy and the frozen GVM both in one process (one_process: one "
                                   "Python/torch/DeepSpeed runtime less, the same numbers bit for bit; their forward "
                                   "passes run one after the other), or each in a Ray actor of its own (separate, "
                                   "OpenRLHF's layout). Without a reference (rl.kl_coef 0) the GVM has its own actor")
    gamma: float = Field(1.0, gt=0, le=1, description="GAE discount over the frozen values")
    lambd: float = Field(0.95, ge=0, le=1, description="GAE lambda over the frozen values")


def gvm_stage(spec: RunSpec, layout: Layout, pipe: Pipeline, pairs: PairFiles, cfg: GVMConfig,
              reward_model: RewardModel | None = None) -> Stage:
    # Shared like the reward model: DVPO variants (advantage mode, rl settings) reuse one GVM.
    key = [Path(pairs.root).name, cfg, spec.seed, spec.resources.device]
    if reward_model:
        key.append(reward_model.model.parent.name)
    workdir = layout.shared_dir("gvm", section_digest(*key))
    flags = {
        "gvm.config": cfg.model_dump_json(),
        "gvm.reward_model": reward_model.model if reward_model else None,
        "gvm.test_pairs": pairs.test,
        "gvm.report": workdir / "report.json",
        "model.model_name_or_path": pipe.sft_model,
        "data.dataset": pairs.train,
        # The GVM tokenises the string pairs itself (dvpo/gvm/train.py), through the template when set.
        "data.apply_chat_template": spec.uses_chat_template,
        "ds.value_head_prefix": "score",
        **train_flags(cfg, spec, workdir, "gvm"),
        **lora_flags(cfg.lora, cfg.zero_stage, "methods.dvpo.gvm"),
    }
    return trainer_stage(
        spec, "gvm", "dvpo.gvm.train", flags, workdir, needs=["pairs"] + (["rm"] if reward_model else []),
        inputs=[str(pipe.sft_model), str(pairs.train), str(pairs.test)]
        + ([str(reward_model.model)] if reward_model else []),
        tokens=TokenCount(stats_file=str(pairs.stats), key="pairs_train", multiplier=cfg.epochs * cfg.inner_epochs),
        report=str(workdir / "report.json"), shared=True,
    )


def frozen_gvm_env(cfg: DVPOConfig) -> dict[str, str]:
    """How the hooks and the frozen GVM actor read the GVM: the official code's numerics and trajectory
    conditioning, when asked (nothing at the defaults, so those stages render as before)."""
    env = {}
    if cfg.value_whitening == "official_chunk":
        env[VALUE_WHITENING_ENV] = f"official_chunk:{cfg.value_whitening_chunk}"
    if cfg.advantage_whitening == "trl":
        env[ADVANTAGE_WHITENING_ENV] = "trl"
    if cfg.gvm.context_trajectories:  # the frozen GVM is read as it was trained: with k trajectories of context
        env[GVM_CONTEXT_ENV] = f"{cfg.gvm.context_trajectories}:{cfg.gvm.context_max_tokens}"
    if cfg.frozen_models == "one_process":
        env[FROZEN_MODELS_ENV] = "one_process"
    return env


class DVPO(RayPPOMethod):
    name = "dvpo"
    description = "DVPO: pretrained global value model, frozen during PPO-style training; no reward model, no critic"
    Config = DVPOConfig
    sections = frozenset({"rl"})  # no reward model (its GVM learns from the pairs)

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        cfg: DVPOConfig = self.config_from(spec)
        pipe = Pipeline.start(spec, layout)
        pairs = pipe.add_pairs()
        rm = pipe.add_reward_model(pairs) if cfg.gvm.returns == "reward_model" else None
        gvm = gvm_stage(spec, layout, pipe, pairs, cfg.gvm, rm)
        gvm_model = Path(gvm.workdir) / "model"
        policy_dir = layout.stage_dir("policy")
        plan = RLPlan(
            estimator="gae", n_samples_per_prompt=cfg.n_samples_per_prompt, reward_func=ZERO_REWARD,
            critic=gvm_model, inputs=[str(gvm_model)], critic_with_reference=cfg.frozen_models == "one_process",
            extra_flags={
                "critic.save_value_network": True,  # the frozen actor records its final digest on save
                "algo.advantage.gamma": cfg.gamma,
                "algo.advantage.lambd": cfg.lambd,
            },
            extra_env={HOOKS_ENV: "dvpo.openrlhf_hooks:install", MODE_ENV: cfg.advantage,
                       DIGEST_ENV: str(policy_dir / "gvm_digest.json"), **frozen_gvm_env(cfg)},
        )
        policy = ray_ppo_stage(spec, layout, pipe, plan, "policy", needs=["gvm"])
        return finish_policy(spec, layout, pipe, gvm, policy)

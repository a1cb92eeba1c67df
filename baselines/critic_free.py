"""Critic-free policy-gradient baselines on the shared reward model: one class, one estimator each.

GRPO (group_norm), REINFORCE++ (reinforce, global batch normalisation), RLOO (leave-one-out
baseline) run OpenRLHF's own estimators in the same Ray PPO stage as PPO, without a critic;
ReMax (greedy-response baseline) adds its estimator through version-pinned hooks.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from baselines.rl import RayPPOMethod, RLMethodConfig, RLPlan, finish_policy, ray_ppo_stage
from repro.layout import Layout
from repro.pipeline import Pipeline
from repro.spec import RunSpec
from repro.stages import Stage
from repro.stages.openrlhf import HOOKS_ENV


class GroupConfig(RLMethodConfig):
    """A group-baseline method's section (methods.<name>)."""

    n_samples_per_prompt: int = Field(4, gt=1, description="samples per prompt forming one baseline group")


class CriticFree(RayPPOMethod):
    estimator: ClassVar[str]  # OpenRLHF's --algo.advantage.estimator
    hooks: ClassVar[str | None] = None  # "module:function" run in every Ray process (REPRO_HOOKS), if any

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        cfg: RLMethodConfig = self.config_from(spec)
        pipe = Pipeline.start(spec, layout)
        rm = pipe.add_reward_model(pipe.add_pairs())
        plan = RLPlan(estimator=self.estimator, n_samples_per_prompt=cfg.n_samples_per_prompt,
                      reward_model=rm.model, inputs=[str(rm.model)],
                      extra_env={HOOKS_ENV: self.hooks} if self.hooks else {})
        policy = ray_ppo_stage(spec, layout, pipe, plan, "policy", needs=["rm"])
        return finish_policy(spec, layout, pipe, policy)


class GRPO(CriticFree):
    name = "grpo"
    estimator = "group_norm"
    description = "GRPO: group-normalised rewards, no critic (OpenRLHF group_norm)"
    Config = GroupConfig


class ReinforcePP(CriticFree):
    name = "reinforce_pp"
    estimator = "reinforce"
    description = "REINFORCE++: returns normalised over the global batch, no critic"
    Config = RLMethodConfig


class RLOO(CriticFree):
    name = "rloo"
    estimator = "rloo"
    description = "RLOO: leave-one-out baseline within each prompt's group, no critic"
    Config = GroupConfig


class ReMax(CriticFree):
    name = "remax"
    # OpenRLHF's REINFORCE path (no critic, one sample per prompt); the hooks replace its baseline and
    # whitening with the greedy response's reward (baselines/remax_hooks.py).
    estimator = "reinforce"
    hooks = "baselines.remax_hooks:install"
    description = "ReMax: REINFORCE with the greedy response's reward as each prompt's baseline, no critic"
    Config = RLMethodConfig

    def extra_passes(self, spec: RunSpec) -> dict[str, float]:
        # One greedy response per prompt, scored by the reward model: 1/n more reward-model passes per sample.
        return {"reward_model": 1 / self.config_from(spec).n_samples_per_prompt}

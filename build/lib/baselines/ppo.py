"""PPO with a GAE critic through OpenRLHF's Ray PPO: actor, reference, critic and reward model.

The critic starts from the SFT policy (value head freshly initialised, as OpenRLHF does when
the critic and actor paths match) and the reward model is the shared one (repro/pipeline/reward_model.py).
"""

from __future__ import annotations

from pydantic import Field

from baselines.rl import RayPPOMethod, RLMethodConfig, RLPlan, finish_policy, ray_ppo_stage
from repro.errors import RecipeError
from repro.layout import Layout
from repro.pipeline import Pipeline
from repro.spec import RunSpec
from repro.stages import Stage


class PPOConfig(RLMethodConfig):
    """PPO's section of a recipe (methods.ppo); rollout and actor settings live in `rl`."""

    critic_lr: float = Field(5e-4, gt=0, description="critic learning rate")
    value_clip: float = Field(0.5, gt=0, description="clip range of the value loss")
    gamma: float = Field(1.0, gt=0, le=1, description="GAE discount")
    lambd: float = Field(0.95, ge=0, le=1, description="GAE lambda")


class PPO(RayPPOMethod):
    name = "ppo"
    description = "PPO with a GAE critic and a reward model (openrlhf.cli.train_ppo_ray)"
    Config = PPOConfig

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        cfg: PPOConfig = self.config_from(spec)
        if spec.rl.lora is not None:
            # One --ds.lora.* for actor and critic: PEFT would freeze the critic's freshly drawn value head.
            raise RecipeError("ppo does not take rl.lora: OpenRLHF 0.11.2 applies the actor's --ds.lora.* flags to "
                              "the critic too, and PEFT then freezes the critic's newly initialised value head; "
                              "remove rl.lora for ppo")
        pipe = Pipeline.start(spec, layout)
        rm = pipe.add_reward_model(pipe.add_pairs())
        plan = RLPlan(
            estimator="gae", n_samples_per_prompt=cfg.n_samples_per_prompt, reward_model=rm.model,
            critic=pipe.sft_model, inputs=[str(rm.model)],
            extra_flags={
                "critic.adam.lr": cfg.critic_lr,
                "critic.lr_warmup_ratio": spec.rl.warmup_ratio,
                "critic.value_clip": cfg.value_clip,
                "critic.save_value_network": True,  # saved next to the policy as model_critic/
                "algo.advantage.gamma": cfg.gamma,
                "algo.advantage.lambd": cfg.lambd,
            },
        )
        policy = ray_ppo_stage(spec, layout, pipe, plan, "policy", needs=["rm"])
        return finish_policy(spec, layout, pipe, policy)

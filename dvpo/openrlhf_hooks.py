"""The only places DVPO reaches into OpenRLHF's private structure (pinned: repro/versions.py).

1. `train_ppo_ray.train` builds the critic group from `ppo_critic.CriticModelActor`, looked up by
   name when the CLI module runs: pointing that name at FrozenValueActor puts the frozen GVM in
   the critic's place (and only there).
2. `RemoteExperienceMaker.compute_advantages_and_returns` turns rewards and values into
   advantages inside the PPOTrainer actor: wrapped to apply DVPO's advantage mode.
3. `train_rm`'s argument parser is built inline under `__main__`: `train_rm_args` runs it and
   captures the namespace at `hierarchize`, so GVM pretraining takes exactly the reward model's
   flags and defaults (same DeepSpeed and optimizer settings) without copying the parser.
4. With methods.dvpo.frozen_models: one_process, train_ppo_ray's `RayActorGroup` and `ReferenceModelActor`
   (launcher names it imports when it runs) build the reference group of FrozenPairActor and hand the
   critic group out as a view onto it (dvpo/frozen_pair.py).
`install()` runs in the Ray driver and in every Ray worker (REPRO_HOOKS). tests/unit/
test_dvpo_hooks.py fails loudly if any target changes shape in another OpenRLHF version.
"""

from __future__ import annotations

import os

from dvpo.hook_env import ADVANTAGE_WHITENING_ENV, FROZEN_MODELS_ENV, MODE_ENV, VALUE_WHITENING_ENV
from repro.versions import require_openrlhf


def check_version() -> None:
    require_openrlhf("dvpo.openrlhf_hooks", "the critic-actor swap and the advantage wrapper")


class _Captured(Exception):
    def __init__(self, args) -> None:
        super().__init__("captured")
        self.namespace = args


def train_rm_args(argv: list[str]):
    """The hierarchical argparse namespace `openrlhf.cli.train_rm` would train with for argv."""
    import runpy
    import sys

    import openrlhf.utils.config as config

    original = config.hierarchize

    def capture(args):
        raise _Captured(original(args))

    saved_argv, config.hierarchize = sys.argv, capture
    sys.argv = ["openrlhf.cli.train_rm", *argv]
    try:
        runpy.run_module("openrlhf.cli.train_rm", run_name="__main__")
    except _Captured as captured:
        return captured.namespace
    finally:
        config.hierarchize, sys.argv = original, saved_argv
    raise RuntimeError("openrlhf.cli.train_rm no longer calls openrlhf.utils.config.hierarchize")


def use_frozen_value_actor() -> None:
    from openrlhf.trainer.ray import ppo_critic

    from dvpo.frozen_value import FrozenValueActor

    ppo_critic.CriticModelActor = FrozenValueActor


def use_frozen_value_advantages(mode: str, values_whitened: bool = False, trl_advantages: bool = False) -> None:
    """values_whitened: the frozen actor already whitened the values (official_chunk), so the batch whitening
    here is skipped; trl_advantages: GAE's advantages are whitened with TRL's masked_whiten (unbiased) instead
    of OpenRLHF's own whitening (biased)."""
    import torch
    from openrlhf.models.utils import compute_reward
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    from dvpo.advantage import ADVANTAGE_MODES, q_values, reward_to_go, trl_masked_whiten, whiten

    if mode not in ADVANTAGE_MODES:
        raise ValueError(f"unknown DVPO advantage mode {mode!r}; valid: {sorted(ADVANTAGE_MODES)}")
    cls = RemoteExperienceMaker
    original = getattr(cls, "_repro_original", cls.compute_advantages_and_returns)

    def batch_whiten(tensors, masks):
        """Whiten a list of (micro-batch) tensors jointly, as one rollout batch."""
        flat = whiten(torch.cat([t.flatten().float() for t in tensors]), torch.cat([m.flatten() for m in masks]))
        return [part.view_as(t) for t, part in zip(tensors, flat.split([t.numel() for t in tensors]))]

    def trl_rewhiten(experiences, masks):
        """OpenRLHF keeps returns = unwhitened advantages + values: whiten those advantages TRL's way instead."""
        raw = [(e.returns - e.values.float()) * m for e, m in zip(experiences, masks)]
        flat = trl_masked_whiten(torch.cat([r.flatten() for r in raw]), torch.cat([m.flatten() for m in masks]))
        for e, part in zip(experiences, flat.split([r.numel() for r in raw])):
            e.advantages = part.view_as(e.returns)

    def compute_advantages_and_returns(self, experiences):
        args = self.strategy.args
        masks = [e.action_mask.float() for e in experiences]
        # Whiten the frozen values over the whole rollout batch (unless the actor whitened them per chunk, as
        # the official code does), then OpenRLHF's own KL-shaped reward, GAE and advantage whitening run.
        if not values_whitened:
            for e, v in zip(experiences, batch_whiten([e.values for e in experiences], masks)):
                e.values = v.to(e.values.dtype)
        if mode == "gae_frozen_v":
            experiences = original(self, experiences)
            if trl_advantages:
                trl_rewhiten(experiences, masks)
            return experiences
        kls = [e.kl for e in experiences]
        experiences = original(self, experiences)
        raw = []
        for e, kl, mask in zip(experiences, kls, masks):
            reward = compute_reward(e.rewards.float(), self.kl_ctl.value, kl, action_mask=e.action_mask,
                                    reward_clip_range=args.reward.clip_range)
            raw.append(q_values(e.values.float(), mask) + reward_to_go(reward, mask, args.algo.advantage.gamma))
        for e, a in zip(experiences, batch_whiten(raw, masks)):
            e.advantages = a
        return experiences

    cls._repro_original = original
    cls.compute_advantages_and_returns = compute_advantages_and_returns


def install() -> None:
    """Apply both hooks (idempotent); the advantage mode and the numerics come from the environment
    (dvpo/hook_env.py)."""
    check_version()
    use_frozen_value_actor()
    if os.environ.get(FROZEN_MODELS_ENV) == "one_process":
        from dvpo import frozen_pair

        frozen_pair.install()
    use_frozen_value_advantages(os.environ.get(MODE_ENV, "gae_frozen_v"),
                                values_whitened=bool(os.environ.get(VALUE_WHITENING_ENV)),
                                trl_advantages=os.environ.get(ADVANTAGE_WHITENING_ENV) == "trl")

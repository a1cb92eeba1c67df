"""DVPO's reward function for OpenRLHF's rollout: no reward model, so every sample scores 0.

With the frozen GVM in the critic's place, the per-token reward is the KL penalty alone (the
official code's setup); all guidance comes from the GVM's values. Loaded by OpenRLHF through
`--reward.remote_url <this file>`.
"""


def reward_func(queries, prompts, labels):
    return {"rewards": 0.0, "scores": 0.0, "extra_logs": {}}

"""The analytic memory and compute model (repro/metrics/analytic.py) against hand-computed budgets."""

import pytest

from repro.metrics.analytic import RoleModel, bytes_per_param, predicted_compute, predicted_memory, ratio

P = 1_000_000


def ppo():
    return [RoleModel("actor", P, True), RoleModel("critic", P, True), RoleModel("reference", P, False),
            RoleModel("reward_model", P, False), RoleModel("rollout", P, False)]


def dvpo():
    return [RoleModel("actor", P, True), RoleModel("gvm", P, False), RoleModel("reference", P, False),
            RoleModel("rollout", P, False)]


def test_bytes_per_param_and_zero_sharding():
    assert bytes_per_param(False, 2, 1) == 2
    assert bytes_per_param(True, 2, 1) == 16  # 2 weights + 2 grads + 12 Adam states
    assert bytes_per_param(True, 1, 8) == pytest.approx(2 + 2 + 1.5)
    assert bytes_per_param(True, 2, 8) == pytest.approx(2 + 0.25 + 1.5)
    assert bytes_per_param(True, 3, 8) == pytest.approx(0.25 + 0.25 + 1.5)


def test_ppo_vs_dvpo_memory_bound_hand_case():
    without_rollout = lambda roles: [r for r in roles if r.role != "rollout"]  # noqa: E731
    mem_ppo = predicted_memory(without_rollout(ppo()), zero_stage=2)
    mem_dvpo = predicted_memory(without_rollout(dvpo()), zero_stage=2)
    assert sum(mem_ppo.values()) == 36 * P and sum(mem_dvpo.values()) == 20 * P
    assert ratio(mem_dvpo, mem_ppo) == pytest.approx(20 / 36)
    assert predicted_memory(ppo(), 2)["rollout"] == 2 * P


def test_compute_per_sample_hand_case():
    # PPO: actor 1 + 3, critic 1 + 3, reference 1, reward model 1 = 10 P; DVPO: actor 4, GVM 1, reference 1 = 6 P
    assert sum(predicted_compute(ppo(), epochs=1).values()) == 10 * P
    assert sum(predicted_compute(dvpo(), epochs=1).values()) == 6 * P
    assert ratio(predicted_compute(dvpo(), 2), predicted_compute(ppo(), 2)) == pytest.approx(9 / 16)
    assert "rollout" not in predicted_compute(ppo(), 1)


def test_remax_adds_a_reward_model_pass_per_prompt_and_says_so_in_its_record():
    """ReMax (no critic) scores one greedy response per prompt: with one sample per prompt the reward model runs
    twice per sample. Against PPO: actor 4 + reference 1 + reward model 2 = 7 of 10 forward-pass equivalents."""
    from repro.runs import plan_run

    remax = [RoleModel("actor", P, True), RoleModel("reference", P, False), RoleModel("reward_model", P, False)]
    passes = plan_run("remax", "imdb/smoke").extra_passes
    assert passes == {"reward_model": 1.0}
    assert ratio(predicted_compute(remax, 1, passes), predicted_compute(ppo(), 1)) == pytest.approx(0.7)
    assert plan_run("remax", "imdb/smoke", overrides=("methods.remax.n_samples_per_prompt=4",)).extra_passes == {
        "reward_model": 0.25}
    assert plan_run("grpo", "imdb/smoke").extra_passes == {}

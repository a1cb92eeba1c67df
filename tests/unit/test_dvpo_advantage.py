"""DVPO's maths against hand-computed cases and against OpenRLHF's own GAE."""

import pytest

# The training stack (make install): a light install's fast tier skips these, CI runs them.
torch = pytest.importorskip("torch")

from dvpo.advantage import (explained_variance, gae, gae_frozen_v, last_token_rewards, monte_carlo_targets,  # noqa: E402
                            q_as_advantage, q_values, reward_to_go, td_lambda_targets, value_loss, whiten)

MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


def test_last_token_rewards_sits_on_last_response_token():
    r = last_token_rewards(torch.tensor([1.0, -1.0]), MASK)
    assert r.tolist() == [[0, 0, 1], [0, -1, 0]]


def test_gae_hand_case():
    # One sequence, V = [0.5, 0.2], r = [0, 1], gamma 1, lambda 0.5:
    # delta_1 = 1 + 0 - 0.2 = 0.8 ; A_1 = 0.8
    # delta_0 = 0 + 0.2 - 0.5 = -0.3 ; A_0 = -0.3 + 0.5 * 0.8 = 0.1
    adv, ret = gae(torch.tensor([[0.5, 0.2]]), torch.tensor([[0.0, 1.0]]), torch.ones(1, 2), 1.0, 0.5)
    assert torch.allclose(adv, torch.tensor([[0.1, 0.8]]))
    assert torch.allclose(ret, torch.tensor([[0.6, 1.0]]))


def test_td_lambda_targets_from_zero_values_are_discounted_returns():
    # V = 0 everywhere: target_t = (gamma * lambda)^(T - t) * r (here gamma 1, lambda 0.5)
    t = td_lambda_targets(torch.zeros(2, 3), torch.tensor([1.0, -1.0]), MASK, 1.0, 0.5)
    assert torch.allclose(t, torch.tensor([[0.25, 0.5, 1.0], [-0.5, -1.0, 0.0]]))


def test_monte_carlo_targets_are_return_to_go():
    t = monte_carlo_targets(torch.tensor([1.0, -1.0]), MASK, gamma=0.5)
    assert torch.allclose(t, torch.tensor([[0.25, 0.5, 1.0], [-0.5, -1.0, 0.0]]))
    assert monte_carlo_targets(torch.tensor([2.0, 3.0]), MASK).tolist() == [[2, 2, 2], [3, 3, 0]]


def test_value_loss_and_explained_variance():
    v = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 9.0]])
    targets = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, 0.0]])
    # masked squared errors 0, 0, 0, 1, 1 -> mean 0.4 -> 0.5 * 0.4
    assert float(value_loss(v, targets, MASK)) == pytest.approx(0.2)
    assert explained_variance(targets, targets, MASK) == pytest.approx(1.0)
    assert explained_variance(torch.zeros_like(targets), targets, MASK) == pytest.approx(0.0, abs=1e-6)


def test_whiten_masked_stats_and_zero_padding():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0]])
    w = whiten(x, MASK)
    valid = w[MASK.bool()]
    assert float(valid.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(valid.pow(2).mean()) == pytest.approx(1.0, abs=1e-4)
    assert w[1, 2] == 0


def test_q_values_shift_left_and_keep_last():
    v = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert q_values(v, MASK).tolist() == [[2, 3, 3], [5, 5, 0]]


def test_reward_to_go_hand_case():
    r = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 5.0]])
    assert reward_to_go(r, MASK).tolist() == [[6, 5, 3], [2, 1, 0]]


def test_gae_frozen_v_is_whitened_gae_over_whitened_values():
    torch.manual_seed(0)
    v, r = torch.randn(2, 3), torch.randn(2, 3) * 0.1
    adv = gae_frozen_v(v, r, MASK, 1.0, 0.95)
    expected, _ = gae(whiten(v, MASK), r, MASK, 1.0, 0.95)
    assert torch.allclose(adv, whiten(expected, MASK))
    assert float(adv[MASK.bool()].mean()) == pytest.approx(0.0, abs=1e-6)


def test_q_as_advantage_ranks_by_frozen_value_without_kl():
    v = torch.tensor([[0.0, 1.0, 2.0], [0.0, -1.0, -2.0]])
    adv = q_as_advantage(v, torch.zeros(2, 3), MASK)
    assert adv[0, 0] > adv[1, 0]  # Q = V(s_1): 1 vs -1


def test_gae_matches_openrlhf():
    from repro.cpu.run import install_shims

    install_shims()
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    torch.manual_seed(1)
    values, rewards = torch.randn(4, 7), torch.randn(4, 7)
    mask = (torch.arange(7) < torch.tensor([[7], [5], [3], [6]])).float()
    ours = gae(values, rewards, mask, 0.99, 0.95)
    theirs = RemoteExperienceMaker.get_advantages_and_returns(None, values, rewards, mask, 0.99, 0.95)
    for a, b in zip(ours, theirs):
        assert torch.allclose(a * mask, b * mask, atol=1e-6)


def test_trl_whiten_is_unmasked_with_unbiased_variance():
    from dvpo.advantage import trl_whiten

    # mean 3, unbiased variance (4 + 1 + 0 + 9) / 3
    out = trl_whiten(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert torch.allclose(out, (torch.tensor([1.0, 2.0, 3.0, 6.0]) - 3) / (14 / 3 + 1e-8) ** 0.5)
    # shift_mean=False adds the mean back: [1, 3] has mean 2 and unbiased variance 2
    assert torch.allclose(trl_whiten(torch.tensor([1.0, 3.0]), shift_mean=False),
                          torch.tensor([2 - 2 ** -0.5, 2 + 2 ** -0.5]), atol=1e-6)


def test_trl_masked_whiten_hand_case_applies_to_every_element():
    from dvpo.advantage import trl_masked_whiten

    # masked-in 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 1.25 * 4 / 3; the pads are transformed too
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    out = trl_masked_whiten(x, torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    std = (1.25 * 4 / 3 + 1e-8) ** 0.5
    assert torch.allclose(out, (x - 2.5) / std)
    assert torch.allclose(trl_masked_whiten(x, torch.ones(2, 3), shift_mean=False).mean(), x.mean(), atol=1e-6)
    with pytest.raises(ValueError, match="at least two"):
        trl_masked_whiten(x, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))


def test_chunk_whitened_values_whiten_each_chunk_over_every_position_then_keep_the_response():
    from dvpo.advantage import chunk_whitened_values, trl_whiten

    full = torch.tensor([[0.0, 1.0, 2.0, 5.0], [3.0, 3.0, 1.0, 1.0]])  # pads and prompt, then 2 response tokens
    per_row = chunk_whitened_values(full, 1, 2)
    assert torch.allclose(per_row[0], trl_whiten(full[0])[-2:]) and torch.allclose(per_row[1], trl_whiten(full[1])[-2:])
    joint = chunk_whitened_values(full, 2, 2)
    assert torch.allclose(joint, trl_whiten(full)[:, -2:]) and not torch.allclose(joint, per_row)

"""DVPO's maths as pure functions on (batch, response_len) tensors with a 0/1 action mask.

Values follow OpenRLHF's critic convention: values[:, t] = V(s_t), the value of the prefix
before response token t. Rewards are per-token; the sentence-level return sits on the last
response token. Everything is masked so right padding never leaks into the sums.
"""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x - mean) / std over the masked entries of the whole batch (TRL's masked_whiten, as the
    official DVPO code uses it); padding stays zero."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask


def trl_whiten(x: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """TRL's (legacy PPO) `whiten`: mean and unbiased variance over every element, 1e-8 inside the square
    root, no mask. The official DVPO trainer applies it to the frozen values of each forward chunk."""
    mean, var = torch.mean(x), torch.var(x)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out + mean if not shift_mean else out


def trl_masked_whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """TRL's `masked_whiten`: masked mean and masked variance with Bessel's correction n / (n - 1) (n = the
    masked-in count), applied to every element (masked-out ones too). The official advantage whitening."""
    n = mask.sum()
    if n < 2:
        raise ValueError(f"trl_masked_whiten needs at least two masked-in entries, got {int(n)}")
    mean = (x * mask).sum() / n
    var = (((x - mean) ** 2) * mask).sum() / n * (n / (n - 1))
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out + mean if not shift_mean else out


def chunk_whitened_values(full: torch.Tensor, chunk: int, num_actions: int) -> torch.Tensor:
    """The official code's frozen values: `full` holds V at every position of each row (left pads and prompt
    included, the last position already dropped); each chunk of `chunk` rows is whitened on its own with
    trl_whiten, then the response positions are kept."""
    whitened = torch.cat([trl_whiten(full[i:i + chunk]) for i in range(0, full.size(0), chunk)])
    return whitened[:, -num_actions:]


def last_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last masked-in position."""
    return (mask.cumsum(-1) * mask).argmax(-1)


def last_token_rewards(final: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Put each sequence's scalar return on its last response token (zeros elsewhere)."""
    rewards = torch.zeros_like(mask, dtype=final.dtype)
    rewards[torch.arange(mask.size(0)), last_index(mask)] = final
    return rewards * mask


def gae(values: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor, gamma: float,
        lambd: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation; returns (advantages, returns = advantages + values).

    delta_t = r_t + gamma * V_{t+1} - V_t with V = 0 after the last token; A_t = sum_k
    (gamma * lambd)^k delta_{t+k}. Same recursion as OpenRLHF's get_advantages_and_returns.
    """
    values, rewards = values * mask, rewards * mask
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.size(1))):
        next_value = values[:, t + 1] if t + 1 < values.size(1) else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lambd * running
        advantages[:, t] = running
    return advantages, advantages + values


def td_lambda_targets(values: torch.Tensor, final: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
                      lambd: float = 0.95) -> torch.Tensor:
    """GVM targets of the official code: TD(lambda) returns bootstrapped from the current value
    model, with the sentence return (e.g. +1 chosen / -1 rejected) on the last token."""
    _, returns = gae(values.detach(), last_token_rewards(final, mask), mask, gamma, lambd)
    return returns * mask


def monte_carlo_targets(final: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Return-to-go of the terminal reward: gamma^(T - t) * r at every response token."""
    rewards = last_token_rewards(final, mask)
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(final)
    for t in reversed(range(rewards.size(1))):
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns * mask


def value_loss(values: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """0.5 * masked mean squared error, the official GVM loss."""
    return 0.5 * masked_mean((values - targets) ** 2, mask)


def explained_variance(values: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """1 - Var(targets - values) / Var(targets) over masked tokens (1 is perfect, 0 is a constant)."""
    target_var = masked_mean((targets - masked_mean(targets, mask)) ** 2, mask)
    residual = targets - values
    residual_var = masked_mean((residual - masked_mean(residual, mask)) ** 2, mask)
    return float(1 - residual_var / target_var.clamp(min=1e-12))


def gae_frozen_v(values: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
                 lambd: float = 0.95) -> torch.Tensor:
    """Advantages as the official DVPO code computes them: whiten the frozen GVM values over the
    batch, run GAE with the per-token (KL-penalty-only) rewards, whiten the advantages."""
    advantages, _ = gae(whiten(values, mask), rewards, mask, gamma, lambd)
    return whiten(advantages, mask)


def q_values(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Q(s_t, a_t) read off a state-value model: V(s_{t+1}), the value of the prefix after token
    t; the last response token keeps its own V(s_T) (no later state is scored)."""
    values = values * mask
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1)
    is_last = mask.bool() & ~torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1).bool()
    return torch.where(is_last, values, next_values) * mask


def reward_to_go(rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """sum_{k >= t} gamma^(k - t) r_k over the response (GAE with V = 0 and lambda = 1)."""
    to_go, _ = gae(torch.zeros_like(rewards), rewards, mask, gamma, 1.0)
    return to_go * mask


def q_as_advantage(values: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
                   lambd: float = 0.95) -> torch.Tensor:
    """The paper's A_t = Q(s_t, a_t): whitened frozen Q values plus the reward-to-go of the
    per-token rewards (the KL penalty), whitened again. lambd is unused (no bootstrapping)."""
    return whiten(whiten(q_values(values, mask), mask) + reward_to_go(rewards, mask, gamma), mask)


ADVANTAGE_MODES = {"gae_frozen_v": gae_frozen_v, "q_as_advantage": q_as_advantage}

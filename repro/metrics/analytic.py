"""What memory and compute each role of an RL step should take, from first principles. Pure functions.

Memory, bytes per parameter: a frozen model holds its weights (2 in bf16); a trained one with mixed-precision
Adam also holds gradients (2) and fp32 master weights plus Adam's two moments (12), and ZeRO divides the
optimiser states (stage >= 1), then gradients (>= 2), then weights (3) across the data-parallel ranks: 16 on
one rank. Activations, the rollout engine's KV cache and framework overhead are left out; that gap is what the
bench's measured-vs-predicted column shows.

Compute, forward-pass equivalents per sample (a backward pass costs two forwards): during experience making
every model except the rollout engine runs one forward over the sample (the actor for log-probabilities, the
reference, the critic or frozen GVM for values, the reward model for the score); each training epoch then
runs a forward and a backward of every trained model. Generation (the rollout engine) is identical across RL
methods with the same rollout settings and is counted apart. Each role's compute is passes x parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

TRAINED_ROLES = ("actor", "critic")
ADAM_STATE_BYTES = 12  # fp32 master weights + Adam's first and second moments


@dataclass(frozen=True)
class RoleModel:
    role: str
    params: int
    trained: bool


def bytes_per_param(trained: bool, zero_stage: int, ranks: int, param_bytes: int = 2) -> float:
    if not trained:
        return float(param_bytes)
    def shard(stage: int) -> int:
        return ranks if zero_stage >= stage else 1
    return param_bytes / shard(3) + param_bytes / shard(2) + ADAM_STATE_BYTES / shard(1)


def predicted_memory(roles: list[RoleModel], zero_stage: int, ranks: int = 1, param_bytes: int = 2) -> dict[str, float]:
    """Bytes each role's weights, gradients and optimiser states take on one rank."""
    return {r.role: r.params * bytes_per_param(r.trained, zero_stage, ranks, param_bytes) for r in roles}


def passes_per_sample(model: RoleModel, epochs: int, extra: float = 0.0) -> float:
    """Forward-pass equivalents per sample outside generation (see the module docstring), plus the method's
    `extra` forward passes for this role (e.g. ReMax's reward model scoring a greedy response per prompt)."""
    return 1.0 + extra + (3.0 * epochs if model.trained else 0.0)


def predicted_compute(roles: list[RoleModel], epochs: int, extra: dict[str, float] | None = None) -> dict[str, float]:
    """Per role, forward-pass-equivalents x parameters per sample (the rollout engine excluded)."""
    extra = extra or {}
    return {r.role: passes_per_sample(r, epochs, extra.get(r.role, 0.0)) * r.params for r in roles if r.role != "rollout"}


def ratio(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(a.values()) / sum(b.values())

"""Rollouts reach OpenRLHF's trainer in the order the prompts were sent, not the order they finished.

OpenRLHF 0.11.2's SamplesGenerator collects each prompt's samples with `ray.wait(pending, num_returns=1)`,
so the experience list (and with it every micro-batch the reference, reward, critic and actor see) follows
completion order, which follows timing: the same seed trained on differently composed batches run to run.
Here the module's `ray` is replaced by a view whose `wait` only ever returns the first pending reference
once it is ready, so samples are taken in dispatch order; every reference is awaited either way, so the
rollout costs the same. Everything else passes through to Ray. Installed in the driver and every Ray worker.
"""

from __future__ import annotations

import types

from repro.versions import OPENRLHF_VERSION

MODULE = "openrlhf.trainer.ppo_utils.samples_generator"


class InOrderRay(types.SimpleNamespace):
    """`ray` with an order-keeping `wait`; attribute lookups other than `wait` go to the real module."""

    def __init__(self, ray_module):
        super().__init__()
        self._ray = ray_module

    def __getattr__(self, name):
        return getattr(self._ray, name)

    def wait(self, refs, num_returns: int = 1, timeout: float | None = None, **kwargs):
        refs = list(refs)
        if not refs:
            return [], []
        ready, _ = self._ray.wait(refs[:1], num_returns=1, timeout=timeout, **kwargs)
        return (refs[:1], refs[1:]) if ready else ([], refs)


def install() -> None:
    """Patch the samples generator's `ray` (idempotent). Fails loudly if OpenRLHF moved it."""
    import importlib

    module = importlib.import_module(MODULE)
    current = getattr(module, "ray", None)
    if isinstance(current, InOrderRay):
        return
    if current is None or not hasattr(module, "SamplesGenerator"):
        raise RuntimeError(f"{MODULE} has no module-level `ray` and SamplesGenerator: written for OpenRLHF "
                           f"{OPENRLHF_VERSION}; re-check repro/launch/ordered_rollouts.py against this version")
    module.ray = InOrderRay(current)

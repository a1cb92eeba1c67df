"""Variants: what a run's resolved spec changes against its recipe as shipped. Pure functions.

Tables pool the seeds of one variant and never pool two variants: runs are grouped by method and by their
resolved spec with the seed and the variant-neutral keys left out (so two recipes of one setting that differ
also stay apart), and each group is labelled by its variant, e.g. `dpo beta=0.5` for `methods.dpo.beta=0.5`.
Keys under another method's section (`methods.ppo.*` on a DPO run) do not make a variant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Keys that change neither training nor the final numbers: the seed (seeds pool), mid-run saves and resume,
# the learning-curve cadence, what the scheduler reserves (threads and nodes do change numerics: they count).
NEUTRAL = ("seed", "checkpoint", "eval.every_steps", "eval.curve_evaluators", "resources.time_min",
           "resources.mem_gb", "resources.cpus")
MISSING = "<unset>"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists and scalars are values."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def counts(key: str, method: str) -> bool:
    """Whether a spec key can make a variant of `method`'s runs."""
    if any(key == n or key.startswith(n + ".") for n in NEUTRAL):
        return False
    parts = key.split(".")
    return not (parts[0] == "methods" and len(parts) > 1 and parts[1] != method)


def variant_of(spec: dict, shipped: dict, method: str) -> dict[str, Any]:
    """The keys where the run's resolved spec differs from its recipe as shipped (MISSING where one lacks it)."""
    mine, base = flatten(spec), flatten(shipped)
    return {k: mine.get(k, MISSING) for k in sorted(mine.keys() | base.keys())
            if counts(k, method) and mine.get(k, MISSING) != base.get(k, MISSING)}


def setup_key(spec: dict, method: str) -> str:
    """A hash of everything in the spec that can change the method's numbers (seed and neutral keys left out)."""
    kept = {k: v for k, v in flatten(spec).items() if counts(k, method)}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]


def short(key: str, method: str) -> str:
    """`methods.dpo.beta` reads `beta` on a DPO row; other keys stay whole."""
    own = f"methods.{method}."
    return key[len(own):] if key.startswith(own) else key


def variant_label(method: str, variant: dict[str, Any]) -> str:
    return " ".join([method, ", ".join(f"{short(k, method)}={v}" for k, v in variant.items())]).strip()


@dataclass
class Group:
    """The runs of one (method, variant): seeds of one resolved spec."""

    method: str
    variant: dict[str, Any]
    label: str
    records: list = field(default_factory=list)

    def overrides(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.variant.items()) or "(the recipe as shipped)"


def group_runs(records: list) -> list[Group]:
    """Records -> groups by (method, setup key), in first-seen order, labelled by the record's variant. Groups
    that would share a label (two recipes of one setting; records older than variants) get their recipe, then
    their setup key, named."""
    groups: dict[tuple[str, str], Group] = {}
    for r in records:
        key = (r.method, setup_key(r.spec, r.method))
        if key not in groups:
            groups[key] = Group(r.method, dict(r.variant), variant_label(r.method, r.variant))
        groups[key].records.append(r)
    for g in groups.values():
        # One record per seed: the same spec and seed run twice (e.g. under another run id, or with a learning
        # curve) is one experiment, not two seeds. The latest record stands.
        latest = {}
        for r in sorted(g.records, key=lambda r: r.updated_at):
            latest[r.seed] = r
        g.records = [r for r in g.records if latest[r.seed] is r]
    for tell in (lambda g: g.records[0].recipe, lambda g: setup_key(g.records[0].spec, g.method)):
        labels = [g.label for g in groups.values()]
        for g in groups.values():
            if labels.count(g.label) > 1:
                g.label = f"{g.label} [{tell(g)}]"
    return list(groups.values())

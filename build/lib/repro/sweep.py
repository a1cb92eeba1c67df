"""A sweep: methods x seeds x a grid of recipe keys, as a list of runs. Pure planning, no launching.

`--grid methods.dpo.beta=0.05,0.1 --grid rl.kl_coef=0.02,0.05` crosses the values of every grid key that
applies to a method: a `methods.<name>.*` key applies to that method only, a key in a section some methods
own (`rl`, `reward_model`: Method.sections) to the methods that own it, any other key to every method. A
method no grid key applies to runs once per seed, not once per grid point.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from repro.errors import RecipeError


@dataclass(frozen=True)
class GridKey:
    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "GridKey":
        key, sep, values = text.partition("=")
        parts = tuple(v.strip() for v in values.split(",")) if sep else ()
        if not key.strip() or not parts or not all(parts):
            raise RecipeError(f"--grid {text!r}: expected KEY=V1,V2,... (e.g. methods.dpo.beta=0.05,0.1,0.3)")
        return cls(key.strip(), parts)


@dataclass(frozen=True)
class SweepRun:
    method: str
    seed: int
    grid: tuple[str, ...]  # the grid point's overrides, KEY=VALUE, in --grid order


def applies(key: str, method: str, sections: frozenset[str], owned: frozenset[str]) -> bool:
    """Whether a grid key changes `method`'s runs (its own section, a section it owns, or a shared one)."""
    parts = key.split(".")
    if parts[0] == "methods":
        return len(parts) > 1 and parts[1] == method
    return parts[0] in sections or parts[0] not in owned


def sweep_runs(methods: list[str], seeds: list[int], grid: list[GridKey],
               sections: dict[str, frozenset[str]]) -> list[SweepRun]:
    """Every run of the sweep, method-major, then grid point, then seed. `sections` maps each method to the
    recipe sections it owns; a grid key that applies to none of the methods is an error."""
    owned = frozenset().union(*sections.values()) if sections else frozenset()
    for g in grid:
        if not any(applies(g.key, m, sections[m], owned) for m in methods):
            raise RecipeError(f"--grid {g.key}: applies to none of the methods {', '.join(methods)} "
                              f"(methods.<name>.* keys reach that method; {', '.join(sorted(owned))} reach the "
                              "methods that use them)")
    runs = []
    for m in methods:
        keys = [g for g in grid if applies(g.key, m, sections[m], owned)]
        for point in itertools.product(*[[f"{g.key}={v}" for v in g.values] for g in keys]):
            runs += [SweepRun(m, s, tuple(point)) for s in seeds]
    return runs

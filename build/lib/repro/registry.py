"""A small generic registry with lazy "module:Class" entries.

Modelled on lm-evaluation-harness's registry: names map to import strings so that
`repro ls` and `repro --help` never import torch; the class is imported and checked
against the base class only when it is used. Outside packages add methods through
the `repro.methods` entry-point group without editing this repository.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from repro.errors import ReproError, UnknownNameError

T = TypeVar("T")


def import_string(target: str):
    module, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"'{target}' is not of the form 'module:Attribute'")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    def __init__(self, kind: str, base: str, entry_point_group: str | None = None):
        self.kind = kind
        self._base = base
        self._group = entry_point_group
        self._targets: dict[str, str | type] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, target: str | type) -> None:
        if name in self._targets and self._targets[name] != target:
            raise ReproError(
                f"{self.kind} '{name}' is already registered as {self._targets[name]!r}; "
                f"refusing to replace it with {target!r}"
            )
        self._targets[name] = target

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self._group):
            self.register(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._targets)

    def in_order(self) -> list[str]:
        """Names in registration order (this file's lines, then entry points): tables list rows this way."""
        self._load_entry_points()
        return list(self._targets)

    def target(self, name: str) -> str:
        """The import string of an entry, without importing it."""
        self._load_entry_points()
        if name not in self._targets:
            raise UnknownNameError(self.kind, name, list(self._targets))
        t = self._targets[name]
        return t if isinstance(t, str) else f"{t.__module__}:{t.__qualname__}"

    def get(self, name: str) -> type[T]:
        self._load_entry_points()
        if name not in self._targets:
            raise UnknownNameError(self.kind, name, list(self._targets))
        cls = self._targets[name]
        if isinstance(cls, str):
            cls = import_string(cls)
            self._targets[name] = cls
        base = import_string(self._base)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise ReproError(f"{self.kind} '{name}' ({cls!r}) is not a subclass of {base.__qualname__}")
        return cls


# One line per entry: adding a method, world, evaluator or launcher is one file plus one line here.
# Methods are registered in the order tables list them: references first, the method under study last.
METHODS: Registry = Registry("method", "repro.methods:Method", entry_point_group="repro.methods")
METHODS.register("sft", "baselines.sft:SFT")
METHODS.register("dpo", "baselines.dpo:DPO")
METHODS.register("rm", "baselines.rm:RM")
METHODS.register("ppo", "baselines.ppo:PPO")
METHODS.register("grpo", "baselines.critic_free:GRPO")
METHODS.register("reinforce_pp", "baselines.critic_free:ReinforcePP")
METHODS.register("rloo", "baselines.critic_free:RLOO")
METHODS.register("remax", "baselines.critic_free:ReMax")
METHODS.register("checkpoint", "baselines.checkpoint:Checkpoint")
METHODS.register("dvpo", "dvpo.method:DVPO")

WORLDS: Registry = Registry("world", "repro.worlds:World")
WORLDS.register("imdb", "repro.worlds.imdb:ImdbWorld")
WORLDS.register("ultrafeedback", "repro.worlds.ultrafeedback:UltraFeedbackWorld")

EVALUATORS: Registry = Registry("evaluator", "repro.evals:Evaluator")
EVALUATORS.register("gold", "repro.evals.gold:GoldEvaluator")
EVALUATORS.register("lm_eval", "repro.evals.lm_eval:LmEvalEvaluator")
EVALUATORS.register("alpaca_eval", "repro.evals.alpaca_eval:AlpacaEvalEvaluator")
EVALUATORS.register("alpaca_eval_rm", "repro.evals.alpaca_eval:AlpacaEvalRMJudgeEvaluator")
EVALUATORS.register("alpaca_eval_api", "repro.evals.alpaca_eval_api:AlpacaEvalApiEvaluator")
EVALUATORS.register("mt_bench", "repro.evals.mt_bench:MtBenchEvaluator")
EVALUATORS.register("arena_hard", "repro.evals.arena_hard:ArenaHardEvaluator")

LAUNCHERS: Registry = Registry("launcher", "repro.launch:Launcher")
LAUNCHERS.register("local", "repro.launch.local:LocalLauncher")
LAUNCHERS.register("slurm", "repro.launch.slurm:SlurmLauncher")

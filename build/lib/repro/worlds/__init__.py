"""Worlds: data, tokenizer, base model and gold reward that every method shares.

A world is one package under repro/worlds/ plus one registry line: its World subclass renders the stages
and its Config validates the recipe's `world` section.

A world renders two shared stages, `world` (build assets) and `pairs` (preference pairs
sampled from the SFT policy and labelled by the gold reward), and tells where its files are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from repro.layout import Layout
from repro.spec import RunSpec, WorldConfig
from repro.stages import Stage


@dataclass(frozen=True)
class WorldFiles:
    """Paths inside a built world folder; the same names for every world."""

    root: Path

    @property
    def base_model(self) -> Path:
        return self.root / "base_model"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sft_train(self) -> Path:
        return self.data / "sft_train.jsonl"

    @property
    def prompts_train(self) -> Path:
        return self.data / "prompts_train.jsonl"

    @property
    def prompts_test(self) -> Path:
        return self.data / "prompts_test.jsonl"

    @property
    def stats(self) -> Path:
        return self.data / "stats.json"

    @property
    def gold(self) -> Path:
        return self.root / "gold"


@dataclass(frozen=True)
class PairFiles:
    root: Path

    @property
    def train(self) -> Path:
        return self.root / "pairs_train.jsonl"

    @property
    def test(self) -> Path:
        return self.root / "pairs_test.jsonl"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    def reward_dataset(self, split: str, chat_template: bool) -> Path:
        """The pairs OpenRLHF's RewardDataset (RM, DPO) reads: the plain rows, or with a chat template
        their message-list copy (pairs_<split>.chat.jsonl, written by a pairs stage told to; see repro/chat.py)."""
        return self.root / f"pairs_{split}{'.chat' if chat_template else ''}.jsonl"


class World(ABC):
    name: ClassVar[str]
    Config: ClassVar[type[WorldConfig]]  # the recipe's `world` section when world.kind names this world

    @abstractmethod
    def build_stage(self, spec: RunSpec, layout: Layout) -> Stage:
        """Builds tokenizer, base model, data splits and gold reward into a shared folder."""

    @abstractmethod
    def pairs_stage(self, spec: RunSpec, layout: Layout, world: Stage, policy_dir: Path, needs: list[str]) -> Stage:
        """Samples responses from the policy and labels preference pairs with the gold reward."""

    @staticmethod
    def files(stage: Stage) -> WorldFiles:
        return WorldFiles(Path(stage.workdir))

    @staticmethod
    def pair_files(stage: Stage) -> PairFiles:
        return PairFiles(Path(stage.workdir))

"""The Method interface: a method is a command builder, not a trainer.

`stages(spec, layout)` returns the pipeline as pure data; everything that runs lives in
the commands it renders (OpenRLHF CLIs, the world and eval modules).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from repro.layout import Layout
from repro.recipes import method_config
from repro.spec import RunSpec
from repro.stages import Stage


class NoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Method(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    train_stage: ClassVar[str]  # the stage whose time/step and memory the efficiency tables report
    # Recipe sections only some methods read (e.g. `rl`): a sweep's grid key in one of them reaches only the
    # methods that name it here (repro/sweep.py). Sections every method reads are not listed.
    sections: ClassVar[frozenset[str]] = frozenset()
    Config: ClassVar[type[BaseModel]] = NoConfig

    @classmethod
    def config_from(cls, spec: RunSpec) -> BaseModel:
        return method_config(cls.Config, spec, cls.name)

    @abstractmethod
    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        """The method's pipeline, world and SFT included, as pure data."""

    def rollout_engine(self, spec: RunSpec) -> str | None:
        """The rollout engine and the memory it preallocates, for the record (None: the method samples
        nothing online). A preallocated KV cache sits in every GPU memory peak, so tables print it."""
        return None

    def extra_passes(self, spec: RunSpec) -> dict[str, float]:
        """Forward passes per sample, by role, that the method adds to the analytic model's count
        (repro/metrics/analytic.py), for the record: e.g. ReMax's reward model also scores a greedy response."""
        return {}

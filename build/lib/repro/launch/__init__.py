"""Launchers: where a planned run's stages execute. One interface, registered like methods.

`local` runs every stage here, one after the other; `slurm` submits one job per stage. Both run a
stage through the same StageRunner (repro/launch/stage_runner.py), so records, skipping, locking and
measurement do not depend on where a stage ran. Another scheduler is one file with a Launcher subclass
plus one `LAUNCHERS.register(...)` line in repro/registry.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from rich.console import Console

from repro.runs import Plan
from repro.store import RunRecord


class Launcher(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, console: Console | None = None, profile: str | None = None):
        self.console = console or Console(stderr=True)
        self.profile = profile  # a cluster profile (slurm/profiles/NAME.yaml), for launchers that use one

    @abstractmethod
    def launch(self, plans: list[Plan], force: bool = False) -> list[RunRecord]:
        """Run or submit every stage of every plan; returns their records as they stand afterwards
        ('completed' when the launcher ran them here, 'submitted' when a scheduler holds them)."""

    @abstractmethod
    def dry_run(self, plans: list[Plan]) -> str:
        """What launch() would run or submit (commands, job scripts), running nothing."""

    def refresh(self, record: RunRecord) -> RunRecord:
        """The record with the launcher's own view of its stages folded in (e.g. the scheduler's states)."""
        return record

    def cancel(self, record: RunRecord) -> list[str]:
        """Stop a launched run's queued and running work; returns the ids of what was cancelled."""
        return []

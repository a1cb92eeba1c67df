"""Evaluators: each renders one eval stage whose report lands in the run record.

Metric keys are stable: '<evaluator>/<metric>' (e.g. 'gold/reward_mean').
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage
from repro.worlds import WorldFiles


class Evaluator(ABC):
    name: ClassVar[str]

    @abstractmethod
    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        """The eval stage for `policy`, compared against `reference` (the SFT policy)."""

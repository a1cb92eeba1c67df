"""Where a run's files live. Deterministic paths, no timestamps.

results/runs/<run_id>/            one run: spec.json, env.json, record.json, stages/<name>/
results/shared/<stage>-<key>/     stages shared by every method (world, SFT, pairs), keyed by content
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from repro.spec import RunSpec


def default_results_root() -> Path:
    return Path(os.environ.get("REPRO_RESULTS", "results")).resolve()


def run_id_for(spec: RunSpec, method: str) -> str:
    return f"{spec.setting}-{method}-s{spec.seed}-{spec.digest(method)}"


@dataclass(frozen=True)
class Layout:
    root: Path
    run_id: str

    @property
    def run_dir(self) -> Path:
        return self.root / "runs" / self.run_id

    def stage_dir(self, name: str) -> Path:
        return self.run_dir / "stages" / name

    def shared_dir(self, name: str, key: str) -> Path:
        return self.root / "shared" / f"{name}-{key}"

    @property
    def record_path(self) -> Path:
        return self.run_dir / "record.json"

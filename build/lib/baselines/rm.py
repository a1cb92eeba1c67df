"""The `rm` method: the shared reward model (openrlhf.cli.train_rm) and its accuracy on held-out pairs,
nothing else (repro/pipeline/reward_model.py builds both stages)."""

from __future__ import annotations

from repro.layout import Layout
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.spec import RunSpec
from repro.stages import Stage


class RM(Method):
    name = "rm"
    train_stage = "rm"
    sections = frozenset({"reward_model"})
    description = "reward model only (openrlhf.cli.train_rm) and its accuracy on held-out pairs"

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        pipe = Pipeline.start(spec, layout)
        pipe.add_reward_model(pipe.add_pairs())
        return pipe.stages

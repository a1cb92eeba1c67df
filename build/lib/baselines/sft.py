"""The `sft` method: the shared SFT stage alone plus evaluation, the reference row of every table.

With `sft.skip` the `sft` row is the untouched base (instruct) model (repro/pipeline/sft.py).
"""

from __future__ import annotations

from repro.layout import Layout
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.spec import RunSpec
from repro.stages import Stage


class SFT(Method):
    name = "sft"
    train_stage = "sft"
    description = "supervised fine-tuning only (openrlhf.cli.train_sft): the reference policy"

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        pipe = Pipeline.start(spec, layout)
        return pipe.finish(policy=pipe.sft_model, needs=["sft"])

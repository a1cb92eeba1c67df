"""Evaluation-only runs: a policy trained elsewhere, evaluated exactly like a method's own policy.

`repro eval --model PATH --recipe R` plans the recipe's world and SFT (shared: the SFT policy is
the reference every evaluator compares against) and the recipe's eval stages on PATH. The
checkpoint must be a Hugging Face model folder with the world's tokenizer; its content is a stage
input, so evaluating an updated checkpoint re-runs the evaluation and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from repro.errors import ReproError
from repro.layout import Layout
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.spec import RunSpec
from repro.stages import Stage


class CheckpointConfig(BaseModel):
    """methods.checkpoint: the model folder to evaluate (set by `repro eval --model`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(description="absolute path of a Hugging Face model folder (config.json, weights, tokenizer)")


def check_model_folder(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ReproError(f"{path} is not a Hugging Face model folder: no config.json there")


class Checkpoint(Method):
    name = "checkpoint"
    train_stage = ""  # nothing is trained: the efficiency tables report total time only
    description = "evaluate a policy trained elsewhere (repro eval --model PATH) against the recipe's SFT"
    Config = CheckpointConfig

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        cfg: CheckpointConfig = self.config_from(spec)
        model = Path(cfg.path)
        check_model_folder(model)
        pipe = Pipeline.start(spec, layout)
        return pipe.finish(policy=model, needs=["sft"])

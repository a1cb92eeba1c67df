"""The table definitions in paper/tables.yaml, as pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from repro.errors import RecipeError
from repro.recipes import REPO_ROOT

TABLES_YAML = REPO_ROOT / "paper" / "tables.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(Strict):
    metric: str = Field(description="record metric key, e.g. gold/reward_mean")
    display: str = Field(description="column header")
    higher_is_better: bool | None = Field(description="which end is 'best'; null marks no best")
    format: str = Field(".3f", description="Python format spec for the value")


class ScoresDef(Strict):
    title: str
    columns: list[Column] = Field(min_length=1)


class ConvergenceDef(Strict):
    """Steps to converge (repro/tables/convergence.py), read off each run's learning curve."""

    metric: str = Field("gold/reward_mean", description="the curve metric that converges (higher is better)")
    tolerance: float = Field(0.1, gt=0, lt=1, description="converged = within this fraction of the final gain")
    window: int = Field(3, gt=0, description="centred moving average over this many evaluated points")

    def footnote(self) -> str:
        return (f"steps to converge: the first evaluated step from which the {self.metric} curve (centred mean over "
                f"{self.window} points) stays within {self.tolerance:.0%} of its final gain over SFT (step 0); "
                "'—' = no learning curve (eval.every_steps) or no gain")


class EfficiencyDef(Strict):
    reference_method: str = Field(description="ratios are taken against this method (the paper: PPO)")
    columns: list[Column] = Field(min_length=1)
    convergence: ConvergenceDef = Field(ConvergenceDef(), description="how steps to converge are read")


class PaperRow(Strict):
    label: str = Field(description="row label as printed in the paper")
    setting: str | None = Field(description="setting whose runs reproduce the row; null if none can")
    method: str | None = Field(description="method whose runs reproduce the row")
    recipe: str | None = Field(None, description="only runs of this recipe (as the record names it), where a "
                                                 "setting has several (e.g. full and LoRA fine-tuning)")
    values: list[float | None] = Field(description="the paper's numbers, one per column")


class PaperTableDef(Strict):
    title: str
    device: Literal["cpu", "gpu"] | None = Field(None, description="only runs on this device are compared")
    columns: list[Column] = Field(min_length=1)
    rows: list[PaperRow]

    @model_validator(mode="after")
    def _values_match_columns(self) -> "PaperTableDef":
        for row in self.rows:
            if len(row.values) != len(self.columns):
                raise ValueError(f"row '{row.label}' has {len(row.values)} values for {len(self.columns)} columns")
        return self


class FrontierMetric(Strict):
    metric: str = Field(description="record metric on the frontier's y axis, e.g. gold/reward_mean")
    display: str = Field(description="axis label and table title")
    start_metric: str | None = Field(None, description="the run's metric holding SFT's value (the frontier's start "
                                                       "at KL 0), e.g. gold/sft_reward_mean")
    start_value: float | None = Field(None, description="SFT's value when it is fixed (a win rate vs SFT: 0.5)")
    format: str = Field(".3f", description="Python format spec for the value")

    @model_validator(mode="after")
    def _one_start(self) -> "FrontierMetric":
        if (self.start_metric is None) == (self.start_value is None):
            raise ValueError(f"frontier metric {self.metric}: give exactly one of start_metric, start_value")
        return self


class FrontierDef(Strict):
    """A setting's reward-KL frontier: every variant of a method is a point, each method a frontier from SFT."""

    kl_metric: str = Field("gold/kl_to_sft", description="record metric on the x axis (KL to SFT)")
    metrics: list[FrontierMetric] = Field(min_length=1, description="one frontier and matched-KL table each")
    budgets: list[float] = Field(min_length=1, description="KL budgets of the matched-KL table")


class TableDefs(Strict):
    scores: dict[str, ScoresDef]
    efficiency: EfficiencyDef
    paper: dict[str, PaperTableDef]
    frontiers: dict[str, FrontierDef] = Field({}, description="reward-KL frontiers per setting")
    learned_signals: ScoresDef | None = Field(
        None, description="held-out quality of the learned reward signals (reward model, value model) per setting; "
                          "rows are the variants whose runs recorded any of its metrics")

    def scores_for(self, setting: str) -> ScoresDef:
        return self.scores.get(setting, self.scores["default"])


def load_table_defs(path: Path = TABLES_YAML) -> TableDefs:
    try:
        return TableDefs.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as e:
        raise RecipeError(f"{path}: {e}") from None

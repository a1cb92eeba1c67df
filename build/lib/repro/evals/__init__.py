"""Evaluators: each renders one eval stage whose report lands in the run record.

Adding one is one module with an Evaluator subclass (and, for options, its Config: the recipe's
eval.<name> section) plus one EVALUATORS.register line in repro/registry.py.

Metric keys are stable: '<evaluator>/<metric>' (e.g. 'gold/reward_mean').
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from repro.layout import Layout
from repro.spec import EvalSpec, GenerationSpec, RunSpec
from repro.stages import Stage, python_stage
from repro.worlds import WorldFiles


class Evaluator(ABC):
    name: ClassVar[str]
    # The evaluator's own recipe section, eval.<name>, validated by this class (None: it takes no options).
    # A recipe that names an evaluator with a Config must give its section ({} takes every default).
    Config: ClassVar[type[BaseModel] | None] = None
    # Judged by the run's shared reward model: the pipeline adds the RM stages and sets
    # `reward_model` (its folder) before calling stage().
    needs_reward_model: ClassVar[bool] = False
    reward_model: Path | None = None
    # Cheap enough to score every saved policy of a learning curve (eval.every_steps) by default; API-judged
    # and benchmark-suite evaluators stay final-only unless eval.curve_evaluators names them.
    cheap: ClassVar[bool] = False

    def config_from(self, spec: RunSpec) -> BaseModel:
        """This evaluator's validated section of the recipe (eval.<name>)."""
        return spec.eval.section(self.name)

    @abstractmethod
    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        """The eval stage for `policy`, compared against `reference` (the SFT policy)."""


class PairedEvaluator(Evaluator):
    """An evaluator that samples the policy and the reference on held-out prompts and compares
    them under the world's gold reward; its module takes parse_paired_args()'s arguments."""

    module: ClassVar[str]
    requires: ClassVar[list[str]]

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        workdir = layout.stage_dir(f"eval-{self.name}")
        return python_stage(
            spec, f"eval-{self.name}", self.module,
            ["--world", str(world.root), "--policy", str(policy), "--reference", str(reference),
             "--eval", spec.eval.model_dump_json(), "--generation", spec.generation.model_dump_json(),
             "--seed", str(spec.seed), "--out", str(workdir),
             *(["--chat-template"] if spec.uses_chat_template else [])],
            workdir,
            needs=needs,
            inputs=[str(policy), str(reference), str(world.prompts_test), str(world.gold)],
            requires=self.requires,
            report=str(workdir / "report.json"),
        )


def parse_paired_args(description: str) -> tuple[argparse.Namespace, EvalSpec, GenerationSpec]:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--policy", type=Path, required=True)
    ap.add_argument("--reference", type=Path, required=True)
    ap.add_argument("--eval", required=True, help="EvalSpec as JSON")
    ap.add_argument("--generation", required=True, help="GenerationSpec as JSON")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chat-template", action="store_true",
                    help="sample from each prompt as one user turn of the tokenizer's chat template (model.chat_template)")
    ap.add_argument("--judge-model", type=Path, default=None,
                    help="a reward model folder judging in place of the gold reward (RM-judged evaluators)")
    args = ap.parse_args()
    return args, EvalSpec.model_validate_json(args.eval), GenerationSpec.model_validate_json(args.generation)

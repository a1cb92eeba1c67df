"""AlpacaEval win rate of the policy against the SFT reference, with the gold reward as a local judge.

A separate stage so that alpaca-eval (and its pandas/openai imports) load only when a recipe asks
for it; sampling and judging live in repro.evals.alpaca_eval_run.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals import Evaluator
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage, python_stage
from repro.worlds import WorldFiles


class AlpacaEvalEvaluator(Evaluator):
    name = "alpaca_eval"

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        workdir = layout.stage_dir(f"eval-{self.name}")
        return python_stage(
            spec, f"eval-{self.name}", "repro.evals.alpaca_eval_run",
            ["--world", str(world.root), "--policy", str(policy), "--reference", str(reference),
             "--eval", spec.eval.model_dump_json(), "--generation", spec.generation.model_dump_json(),
             "--seed", str(spec.seed), "--out", str(workdir)],
            workdir,
            needs=needs,
            inputs=[str(policy), str(reference), str(world.prompts_test), str(world.gold)],
            requires=["torch", "transformers", "sklearn", "alpaca_eval"],
            report=str(workdir / "report.json"),
        )

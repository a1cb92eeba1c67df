"""Gold-reward evaluation of the IMDB world: reward, KL to SFT and win rate against SFT."""

from __future__ import annotations

from pathlib import Path

from repro.evals import Evaluator
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage, python_stage
from repro.worlds import WorldFiles


class GoldEvaluator(Evaluator):
    name = "gold"

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        workdir = layout.stage_dir(f"eval-{self.name}")
        return python_stage(
            spec, f"eval-{self.name}", "repro.evals.gold_score",
            ["--world", str(world.root), "--policy", str(policy), "--reference", str(reference),
             "--eval", spec.eval.model_dump_json(), "--generation", spec.generation.model_dump_json(),
             "--seed", str(spec.seed), "--out", str(workdir)],
            workdir,
            needs=needs,
            inputs=[str(policy), str(reference), str(world.prompts_test)],
            requires=["torch", "transformers", "sklearn"],
            report=str(workdir / "report.json"),
        )

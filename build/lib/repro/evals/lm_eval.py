"""lm-evaluation-harness on the policy, with offline tasks written from the world's held-out prompts.

A separate stage (and process) so that lm-eval's heavy imports stay out of the gold stage and of
`repro ls`; the task definitions and the runner live in repro.evals.lm_eval_run.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals import Evaluator
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage, python_stage
from repro.worlds import WorldFiles


class LmEvalEvaluator(Evaluator):
    name = "lm_eval"

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        workdir = layout.stage_dir(f"eval-{self.name}")
        return python_stage(
            spec, f"eval-{self.name}", "repro.evals.lm_eval_run",
            ["--world", str(world.root), "--policy", str(policy), "--out", str(workdir),
             "--limit", str(spec.eval.n_prompts), "--max-gen-toks", str(spec.generation.max_new_tokens),
             "--temperature", str(spec.generation.temperature), "--seed", str(spec.seed)],
            workdir,
            needs=needs,
            inputs=[str(policy), str(world.prompts_test), str(world.gold)],
            requires=["torch", "transformers", "sklearn", "lm_eval"],
            report=str(workdir / "report.json"),
        )

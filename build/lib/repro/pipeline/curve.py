"""Learning-curve stages: each curve evaluator re-run on every policy the training stage saved.

A method opts in by telling Pipeline.finish where its training stage saves (`Saves`); the recipe asks for a
curve with eval.every_steps. One stage per curve evaluator, after that evaluator's final stage, running
repro.evals.curve with the final stage's own command as the template (so every point is the same measurement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.evals.curve import template
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage, python_stage


@dataclass(frozen=True)
class Saves:
    """Where a training stage leaves its snapshots, and how many samples (rollouts, pairs) one step is."""

    train_dir: Path  # the stage's folder: ckpt/global_step<N>_hf, tb/, stage.json
    samples_per_step: int
    snapshot_dir: Path | None = None  # where the global_step<N>_hf snapshots are read, if not train_dir/ckpt
                                      # (a LoRA policy's merged snapshots, repro/lora/merge.py)

    @property
    def snapshots(self) -> Path:
        return self.snapshot_dir or self.train_dir / "ckpt"


def curve_stages(spec: RunSpec, layout: Layout, start: Path, policy: Path, final: list[Stage],
                 saves: Saves) -> list[Stage]:
    if spec.eval.every_steps is None:
        return []
    by_name = {s.name: s for s in final}
    stages = []
    for name in spec.eval.curve():
        evaluation = by_name[f"eval-{name}"]
        workdir = layout.stage_dir(f"curve-{name}")
        args = ["--snapshots", str(saves.snapshots), "--every", str(spec.eval.every_steps),
                "--start", str(start), "--train-dir", str(saves.train_dir),
                "--samples-per-step", str(saves.samples_per_step), "--final-report", str(evaluation.report),
                "--out", str(workdir), "--", *template(evaluation.argv, str(policy), evaluation.workdir)]
        stage = python_stage(spec, f"curve-{name}", "repro.evals.curve", args, workdir, needs=[evaluation.name],
                             inputs=[str(start), str(evaluation.report)], requires=evaluation.requires,
                             report=str(workdir / "report.json"))
        stages.append(stage.model_copy(update={"env": evaluation.env}))  # the evaluator's own environment
    return stages

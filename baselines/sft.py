"""SFT through openrlhf.cli.train_sft: the shared starting point of every method.

The `sft` method is SFT alone plus evaluation: the reference row of every table. With `sft.skip`
the stage trains nothing and links the world's base model in its place (baselines/sft_link.py),
so the `sft` row is then the untouched base (instruct) model.
"""

from __future__ import annotations

from pathlib import Path

from baselines.openrlhf_cli import REQUIRES, prompt_flags, python_module_argv, train_flags
from repro.launch.env import stage_env
from repro.layout import Layout
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount, python_stage


def sft_stage(spec: RunSpec, layout: Layout, world: Stage, world_files) -> Stage:
    if spec.sft.skip:
        return linked_base_stage(spec, layout, world, world_files)
    # Keyed by content, so every method at a given seed reuses the same SFT policy.
    key = section_digest(Path(world.workdir).name, spec.sft, spec.seed, spec.resources.device)
    workdir = layout.shared_dir("sft", key)
    flags = {
        "model.model_name_or_path": world_files.base_model,
        "data.dataset": world_files.sft_train,
        "data.input_key": "prompt",
        "data.output_key": "response",
        **prompt_flags(spec),
        **train_flags(spec.sft, spec.resources, spec.seed, str(workdir / "model"), str(workdir / "tb"), "sft"),
    }
    return Stage(
        name="sft",
        argv=python_module_argv("openrlhf.cli.train_sft", spec.resources, flags),
        env=stage_env(spec.resources),
        resources=spec.resources,
        workdir=str(workdir),
        needs=[world.name],
        inputs=[str(world_files.base_model), str(world_files.sft_train)],
        requires=REQUIRES,
        shared=True,
        tokens=TokenCount(stats_file=str(world_files.stats), key="sft_train", multiplier=spec.sft.epochs),
        tensorboard_dir=str(workdir / "tb"),
    )


def linked_base_stage(spec: RunSpec, layout: Layout, world: Stage, world_files) -> Stage:
    """The `sft` stage of a skipped SFT: one cheap process linking the base model as <workdir>/model."""
    # Keyed by the world alone (a link depends on no seed or SFT setting), and never a trained SFT's key,
    # whose payload holds the sft section. No `inputs`: the link does not depend on the weights' bytes,
    # which would otherwise be hashed (GBs) on every launch; the argv names the folder linked.
    workdir = layout.shared_dir("sft", section_digest(Path(world.workdir).name, "base-model-linked"))
    return python_stage(spec, "sft", "baselines.sft_link",
                        ["--base-model", str(world_files.base_model), "--out", str(workdir)], workdir,
                        needs=[world.name], shared=True, report=str(workdir / "report.json"))


def sft_model_dir(stage: Stage) -> Path:
    return Path(stage.workdir) / "model"


class SFT(Method):
    name = "sft"
    train_stage = "sft"
    description = "supervised fine-tuning only (openrlhf.cli.train_sft): the reference policy"

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        pipe = Pipeline.start(spec, layout)
        return pipe.stages + pipe.evaluate(policy=pipe.sft_model, needs=["sft"])

"""The shared SFT stage through openrlhf.cli.train_sft: the starting point and reference of every method.

With `sft.skip` the stage trains nothing and links the world's base model in its place
(repro/pipeline/sft_link.py), so every stage that reads `<sft>/model` works unchanged.
"""

from __future__ import annotations

from pathlib import Path

from repro.layout import Layout
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount, python_stage
from repro.stages.openrlhf import prompt_flags, train_flags, trainer_stage
from repro.worlds import WorldFiles


def sft_stage(spec: RunSpec, layout: Layout, world: Stage, world_files: WorldFiles) -> Stage:
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
        **train_flags(spec.sft, spec, workdir, "sft"),
    }
    return trainer_stage(
        spec, "sft", "openrlhf.cli.train_sft", flags, workdir, needs=[world.name],
        inputs=[str(world_files.base_model), str(world_files.sft_train)], shared=True,
        tokens=TokenCount(stats_file=str(world_files.stats), key="sft_train", multiplier=spec.sft.epochs),
    )


def linked_base_stage(spec: RunSpec, layout: Layout, world: Stage, world_files: WorldFiles) -> Stage:
    """The `sft` stage of a skipped SFT: one cheap process linking the base model as <workdir>/model."""
    # Keyed by the world alone (a link depends on no seed or SFT setting), and never a trained SFT's key,
    # whose payload holds the sft section. No `inputs`: the link does not depend on the weights' bytes,
    # which would otherwise be hashed (GBs) on every launch; the argv names the folder linked.
    workdir = layout.shared_dir("sft", section_digest(Path(world.workdir).name, "base-model-linked"))
    return python_stage(spec, "sft", "repro.pipeline.sft_link",
                        ["--base-model", str(world_files.base_model), "--out", str(workdir)], workdir,
                        needs=[world.name], shared=True, report=str(workdir / "report.json"))


def sft_model_dir(stage: Stage) -> Path:
    return Path(stage.workdir) / "model"

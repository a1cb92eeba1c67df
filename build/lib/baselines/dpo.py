"""DPO through openrlhf.cli.train_dpo on the world's preference pairs, from the shared SFT policy."""

from __future__ import annotations

from pydantic import Field

from repro.layout import Layout
from repro.methods import Method
from repro.pipeline import Pipeline
from repro.pipeline.curve import Saves
from repro.spec import RunSpec, TrainSpec
from repro.stages import Stage, TokenCount
from repro.stages.openrlhf import prompt_flags, snapshot_flags, train_flags, trainer_stage


class DPOConfig(TrainSpec):
    """DPO's section of a recipe (methods.dpo)."""

    beta: float = Field(0.1, gt=0, description="KL strength of the implicit reward")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="cDPO label smoothing")
    nll_loss_coef: float = Field(0.0, ge=0, description="weight of an NLL term on chosen responses")


class DPO(Method):
    name = "dpo"
    train_stage = "dpo"
    description = "direct preference optimisation (openrlhf.cli.train_dpo) on gold-labelled pairs"
    Config = DPOConfig

    def stages(self, spec: RunSpec, layout: Layout) -> list[Stage]:
        cfg: DPOConfig = self.config_from(spec)
        pipe = Pipeline.start(spec, layout)
        pairs = pipe.add_pairs()
        workdir = layout.stage_dir("dpo")
        train = pairs.reward_dataset("train", spec.uses_chat_template)
        flags = {
            "model.model_name_or_path": pipe.sft_model,
            "ref.model_name_or_path": pipe.sft_model,
            "data.dataset": train,
            "data.prompt_key": "prompt",
            "data.chosen_key": "chosen",
            "data.rejected_key": "rejected",
            **prompt_flags(spec),
            "model.beta": cfg.beta,
            "model.label_smoothing": cfg.label_smoothing,
            "model.nll_loss_coef": cfg.nll_loss_coef,
            **train_flags(cfg, spec, workdir, "dpo"),
            **snapshot_flags(spec, workdir, "dpo"),
        }
        dpo = trainer_stage(
            spec, "dpo", "openrlhf.cli.train_dpo", flags, workdir, needs=["pairs"],
            inputs=[str(pipe.sft_model), str(train)],
            tokens=TokenCount(stats_file=str(pairs.stats), key="pairs_train", multiplier=cfg.epochs),
        )
        return pipe.finish(dpo, policy=workdir / "model", needs=["dpo"], saves=Saves(workdir, cfg.batch_size))

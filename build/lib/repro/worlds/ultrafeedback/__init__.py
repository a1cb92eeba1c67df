"""The UltraFeedback world (the DVPO paper's data): prepared once, shared by every method.

Its `world` stage (prepare.py) reads UltraFeedback, writes SFT rows, preference pairs, the held-out RL
and test prompts, and links the pinned pretrained base model. Pairs come from the data, so the `pairs`
stage (expose.py) samples nothing: it checks the prepared pairs and exposes them where RM, GVM and DPO
read pairs. It stays a stage of its own so methods keep one pipeline shape across worlds.
This module only renders stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from repro.layout import Layout
from repro.spec import RunSpec, Strict, WorldConfig, section_digest
from repro.stages import Stage, TokenCount, python_stage
from repro.worlds import PairFiles, World, WorldFiles


class UltraFeedbackSourceSpec(Strict):
    """Where UltraFeedback is read from: a local file/folder, or the `datasets` cache by name and revision."""

    format: Literal["binarized", "raw"] = Field(
        "binarized", description="'binarized': HuggingFaceH4/ultrafeedback_binarized rows (prompt, chosen/rejected "
        "message lists, score_chosen/score_rejected); 'raw': openbmb/UltraFeedback rows (instruction, completions)")
    path: str | None = Field(None, description="a .jsonl or .parquet file, or a datasets save_to_disk folder")
    name: str | None = Field(None, description="dataset name in the datasets cache (read offline), e.g. "
                                                "'HuggingFaceH4/ultrafeedback_binarized'")
    revision: str | None = Field(None, description="pinned dataset commit; required with `name`")
    split: str | None = Field(None, description="split to read (by name, or of a DatasetDict folder); "
                                                "None: 'train_prefs' for binarized, 'train' for raw")

    @model_validator(mode="after")
    def _one_source(self) -> "UltraFeedbackSourceSpec":
        if (self.path is None) == (self.name is None):
            raise ValueError("give exactly one of source.path (local file/folder) or source.name (datasets cache)")
        if self.name is not None and not self.revision:
            raise ValueError("source.name needs source.revision: a dataset read by name must be pinned")
        return self


class UltraFeedbackWorldSpec(WorldConfig):
    """UltraFeedback prepared once for every method: SFT rows, preference pairs, RL and test prompts."""

    kind: Literal["ultrafeedback"] = Field("ultrafeedback", description="world registry name")
    base_model: ClassVar[str] = "pretrained"  # links the pinned pretrained model of the `model` section
    source: UltraFeedbackSourceSpec = Field(description="where the UltraFeedback rows come from")
    n_rl_prompts: int = Field(10000, gt=0, description="held-out prompts for RL (10K in the paper), disjoint from "
                                                       "every preference pair and SFT row")
    n_test_prompts: int = Field(1000, gt=0, description="held-out prompts for evaluation, disjoint from the rest")
    n_pairs_test: int = Field(1000, gt=0, description="pairs held out of RM/GVM/DPO training for preference "
                                                      "accuracy")


def world_key(spec: RunSpec) -> str:
    return section_digest(spec.world, spec.model, spec.world_seed)


def reference_file(world: WorldFiles) -> Path:
    """What the world stage records about the linked pretrained model (id, revision, folder): its fingerprint."""
    return world.root / "base_model.json"


class UltraFeedbackWorld(World):
    name = "ultrafeedback"
    Config = UltraFeedbackWorldSpec

    def build_stage(self, spec: RunSpec, layout: Layout) -> Stage:
        workdir = layout.shared_dir("world", world_key(spec))
        files = WorldFiles(workdir)
        inputs = [spec.world.source.path] if spec.world.source.path else []
        return python_stage(
            spec, "world", "repro.worlds.ultrafeedback.prepare",
            ["--world", spec.world.model_dump_json(), "--model", spec.model.model_dump_json(),
             "--seed", str(spec.world_seed), "--out", str(workdir)],
            workdir,
            inputs=inputs,
            requires=["transformers", "huggingface_hub", "datasets", "pyarrow"],
            shared=True,
            tokens=TokenCount(stats_file=str(files.stats), key="sft_train"),
            fingerprints={"base_model": str(reference_file(files)), "data": str(files.data)},
        )

    def pairs_stage(self, spec: RunSpec, layout: Layout, world: Stage, policy_dir: Path, needs: list[str]) -> Stage:
        # Keyed by the world alone: the pairs do not depend on the SFT policy or the seed. It still waits
        # for `needs` (SFT) because RM, GVM and DPO name only `pairs` yet start from the SFT policy.
        workdir = layout.shared_dir("pairs", section_digest(Path(world.workdir).name, "ultrafeedback"))
        wf, pf = self.files(world), PairFiles(workdir)
        # With a chat template RM and DPO read message-list copies of the pairs (PairFiles.reward_dataset);
        # the flag is in the argv, so a pairs folder made without them is re-run, not reused.
        chat = ["--chat-template"] if spec.uses_chat_template else []
        return python_stage(
            spec, "pairs", "repro.worlds.ultrafeedback.expose",
            ["--world", str(wf.root), "--out", str(workdir), *chat],
            workdir,
            needs=list(dict.fromkeys([world.name, *needs])),
            inputs=[str(wf.data)],
            shared=True,
            report=str(pf.report),
            fingerprints={"preference_data": str(pf.train)},
        )

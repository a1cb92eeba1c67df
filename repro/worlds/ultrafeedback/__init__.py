"""The UltraFeedback world (the DVPO paper's data): prepared once, shared by every method.

Its `world` stage (prepare.py) reads UltraFeedback, writes SFT rows, preference pairs, the held-out RL
and test prompts, and links the pinned pretrained base model. Pairs come from the data, so the `pairs`
stage (expose.py) samples nothing: it checks the prepared pairs and exposes them where RM, GVM and DPO
read pairs. It stays a stage of its own so methods keep one pipeline shape across worlds.
This module only renders stages.
"""

from __future__ import annotations

from pathlib import Path

from repro.layout import Layout
from repro.spec import RunSpec, section_digest
from repro.stages import Stage, TokenCount, python_stage
from repro.worlds import PairFiles, World, WorldFiles


def world_key(spec: RunSpec) -> str:
    return section_digest(spec.world, spec.model, spec.world_seed)


class UltraFeedbackWorld(World):
    name = "ultrafeedback"

    def build_stage(self, spec: RunSpec, layout: Layout) -> Stage:
        from repro.worlds.ultrafeedback.prepare import reference_file

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

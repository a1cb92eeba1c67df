"""The stages every method shares: world -> SFT (-> preference pairs) ... -> evaluation.

Methods start from Pipeline.start(), add their own training stages, and finish with
evaluate(); so world, SFT, pairs and evaluation are byte-identical across methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repro.layout import Layout
from repro.registry import EVALUATORS, WORLDS
from repro.spec import RunSpec
from repro.stages import Stage
from repro.worlds import PairFiles, World, WorldFiles


@dataclass
class Pipeline:
    spec: RunSpec
    layout: Layout
    world: World
    world_files: WorldFiles
    sft_model: Path
    stages: list[Stage] = field(default_factory=list)

    @classmethod
    def start(cls, spec: RunSpec, layout: Layout) -> "Pipeline":
        from baselines.sft import sft_model_dir, sft_stage

        world = WORLDS.get(spec.world.kind)()
        build = world.build_stage(spec, layout)
        files = World.files(build)
        sft = sft_stage(spec, layout, build, files)
        return cls(spec, layout, world, files, sft_model_dir(sft), [build, sft])

    def add_pairs(self) -> PairFiles:
        """Preference pairs from the SFT policy (shared by DPO, the reward model and the GVM)."""
        build = self.stages[0]
        stage = self.world.pairs_stage(self.spec, self.layout, build, self.sft_model, needs=["sft"])
        self.stages.append(stage)
        return World.pair_files(stage)

    def evaluate(self, policy: Path, needs: list[str]) -> list[Stage]:
        """The recipe's eval stages; with an RM-judged evaluator also the shared pairs and reward-model
        stages (the same ones PPO trains on; identical duplicates merge in topological_order)."""
        stages: list[Stage] = []
        for name in self.spec.eval.evaluators:
            evaluator = EVALUATORS.get(name)()
            stage_needs = needs
            if evaluator.needs_reward_model:
                from baselines.rm import reward_model_stages

                pairs = self.world.pairs_stage(self.spec, self.layout, self.stages[0], self.sft_model, needs=["sft"])
                rm = reward_model_stages(self.spec, self.layout, self, World.pair_files(pairs))
                stages += [pairs, *rm.stages]
                evaluator.reward_model, stage_needs = rm.model, [*needs, "rm"]
            stages.append(evaluator.stage(self.spec, self.layout, self.world_files, policy, self.sft_model,
                                          stage_needs))
        return stages

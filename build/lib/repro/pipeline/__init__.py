"""The stages every method shares: world -> SFT (-> preference pairs -> reward model) ... -> evaluation.

This layer sits below the methods and imports none of them. A method starts from Pipeline.start(),
adds the shared stages it needs (pairs, the reward model), and ends with finish(), which appends its
own training stages and the recipe's evaluation; so world, SFT, pairs, reward model and evaluation are
byte-identical across methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repro.layout import Layout
from repro.pipeline.curve import Saves, curve_stages
from repro.pipeline.reward_model import RewardModel, reward_model_stages
from repro.pipeline.sft import sft_model_dir, sft_stage
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
        world = WORLDS.get(spec.world.kind)()
        build = world.build_stage(spec, layout)
        files = World.files(build)
        sft = sft_stage(spec, layout, build, files)
        return cls(spec, layout, world, files, sft_model_dir(sft), [build, sft])

    def _pairs_stage(self) -> Stage:
        return self.world.pairs_stage(self.spec, self.layout, self.stages[0], self.sft_model, needs=["sft"])

    def add_pairs(self) -> PairFiles:
        """Preference pairs from the SFT policy (shared by DPO, the reward model and the GVM)."""
        stage = self._pairs_stage()
        self.stages.append(stage)
        return World.pair_files(stage)

    def add_reward_model(self, pairs: PairFiles) -> RewardModel:
        """The shared reward model on `pairs` and its held-out accuracy (PPO, the critic-free methods...)."""
        rm = reward_model_stages(self.spec, self.layout, self.sft_model, pairs)
        self.stages += rm.stages
        return rm

    def evaluate(self, policy: Path, needs: list[str]) -> list[Stage]:
        """The recipe's eval stages; with an RM-judged evaluator also the shared pairs and reward-model
        stages (the same ones PPO trains on; identical duplicates merge in topological_order)."""
        stages: list[Stage] = []
        for name in self.spec.eval.evaluators:
            evaluator = EVALUATORS.get(name)()
            stage_needs = needs
            if evaluator.needs_reward_model:
                pairs = self._pairs_stage()
                rm = reward_model_stages(self.spec, self.layout, self.sft_model, World.pair_files(pairs))
                stages += [pairs, *rm.stages]
                evaluator.reward_model, stage_needs = rm.model, [*needs, "rm"]
            stages.append(evaluator.stage(self.spec, self.layout, self.world_files, policy, self.sft_model,
                                          stage_needs))
        return stages

    def finish(self, *method_stages: Stage, policy: Path, needs: list[str], saves: Saves | None = None) -> list[Stage]:
        """The whole pipeline: the shared stages so far, the method's own, then the evaluation of `policy`
        once the stages in `needs` are done, and, when the recipe asks for a learning curve and the method
        says where its training stage saves (`saves`), the curve stages."""
        final = self.evaluate(policy=policy, needs=needs)
        curves = curve_stages(self.spec, self.layout, self.sft_model, policy, final, saves) if saves else []
        return [*self.stages, *method_stages, *final, *curves]

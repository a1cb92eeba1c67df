"""AlpacaEval win rate of the policy against the SFT reference, with the gold reward as a local judge.

A separate stage so that alpaca-eval (and its pandas/openai imports) load only when a recipe asks
for it; sampling and judging live in repro.evals.alpaca_eval_run.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals import PairedEvaluator
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage
from repro.worlds import WorldFiles


class AlpacaEvalEvaluator(PairedEvaluator):
    name = "alpaca_eval"
    module = "repro.evals.alpaca_eval_run"
    cheap = True  # judged locally (gold or the shared RM), no API
    requires = ["torch", "transformers", "sklearn", "alpaca_eval"]


class AlpacaEvalRMJudgeEvaluator(AlpacaEvalEvaluator):
    """The same AlpacaEval win rate judged by the run's shared reward model (trained on the world's
    pairs, as PPO's is) instead of the gold reward: metrics under alpaca_eval/rm_judge/. It loads
    OpenRLHF's reward model, so on CPU it runs through the CPU layer."""

    name = "alpaca_eval_rm"
    needs_reward_model = True
    requires = [*AlpacaEvalEvaluator.requires, "openrlhf"]

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        from repro.stages.openrlhf import single_process_prefix

        base = super().stage(spec, layout, world, policy, reference, needs)
        args = base.argv[base.argv.index(self.module) + 1:]
        argv = single_process_prefix(self.module, spec.resources.single_node()) + args
        return base.model_copy(update={"argv": [*argv, "--judge-model", str(self.reward_model)],
                                       "inputs": [*base.inputs, str(self.reward_model)]})

"""AlpacaEval win rate of the policy against the SFT reference, with the gold reward as a local judge.

A separate stage so that alpaca-eval (and its pandas/openai imports) load only when a recipe asks
for it; sampling and judging live in repro.evals.alpaca_eval_run.
"""

from __future__ import annotations

from repro.evals import PairedEvaluator


class AlpacaEvalEvaluator(PairedEvaluator):
    name = "alpaca_eval"
    module = "repro.evals.alpaca_eval_run"
    requires = ["torch", "transformers", "sklearn", "alpaca_eval"]

"""Gold-reward evaluation of the IMDB world: reward, KL to SFT and win rate against SFT."""

from __future__ import annotations

from repro.evals import PairedEvaluator


class GoldEvaluator(PairedEvaluator):
    name = "gold"
    cheap = True
    module = "repro.evals.gold_score"
    requires = ["torch", "transformers", "sklearn"]

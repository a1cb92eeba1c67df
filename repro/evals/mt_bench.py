"""MT-Bench: the policy answers FastChat's 80 two-turn questions and an API judge grades each turn 1-10.

Answers and judgments come from FastChat's own llm_judge scripts, run in FastChat's environment
(eval.mt_bench.python) by repro.evals.judge_bench_run; scores land under 'mt_bench/<judge>/...'.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals.judge_bench import JudgeBenchEvaluator
from repro.spec import MtBenchSpec


class MtBenchEvaluator(JudgeBenchEvaluator):
    name = "mt_bench"

    def question_file(self, section: MtBenchSpec) -> Path:
        return Path(section.data_dir) / "mt_bench" / "question.jsonl"

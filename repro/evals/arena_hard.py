"""Arena-Hard: an API judge compares the policy's answers with a baseline model's, question by question.

Answers and judgments come from arena-hard-auto's own gen_answer.py and gen_judgment.py, run in its
environment (eval.arena_hard.python) by repro.evals.judge_bench_run; the win rate lands under
'arena_hard/<judge>/win_rate_vs_<baseline>'.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals.judge_bench import JudgeBenchEvaluator
from repro.spec import ArenaHardSpec


def arena_hard_data_dir(section: ArenaHardSpec) -> Path:
    return Path(section.data_dir) if section.data_dir else Path(section.repo_dir) / "data"


class ArenaHardEvaluator(JudgeBenchEvaluator):
    name = "arena_hard"

    def question_file(self, section: ArenaHardSpec) -> Path:
        return arena_hard_data_dir(section) / section.bench_name / "question.jsonl"

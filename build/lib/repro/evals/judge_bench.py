"""What MT-Bench and Arena-Hard share here: the eval stage they render and the meaning of their judges' files.

Both benchmarks run as one stage each (answers -> judgments -> report.json) through
repro.evals.judge_bench_run, in the benchmark's own Python environment. Metric keys name the judge:
'<benchmark>/<judge_model>/<metric>' (e.g. 'mt_bench/gpt-4/score'), so a different judge is a
different metric and never averages into the same column.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from repro.evals import Evaluator
from repro.layout import Layout
from repro.spec import RunSpec
from repro.stages import Stage, python_stage
from repro.worlds import WorldFiles

RUNNER = "repro.evals.judge_bench_run"


def metric_key(benchmark: str, judge: str, metric: str) -> str:
    return f"{benchmark}/{judge}/{metric}"


class JudgeBenchEvaluator(Evaluator):
    """One stage that runs the benchmark's own tools with its section of the recipe (eval.<name>)."""

    @abstractmethod
    def question_file(self, section: BaseModel) -> Path:
        """The benchmark's question set: a stage input, so new questions re-run the evaluation."""

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        section = self.config_from(spec)
        workdir = layout.stage_dir(f"eval-{self.name}")
        # The judge's API key is deliberately not in argv or env: the launcher passes its own environment
        # through, so OPENAI_API_KEY reaches the runner without landing in command.sh, stage.json or the record.
        return python_stage(
            spec, f"eval-{self.name}", RUNNER,
            [self.name, "--policy", str(policy), "--config", section.model_dump_json(), "--out", str(workdir)],
            workdir,
            needs=needs,
            inputs=[str(policy), str(self.question_file(section))],
            report=str(workdir / "report.json"),
        )


# --- MT-Bench: FastChat's single-answer grading ---------------------------------------------------

def mt_bench_metrics(rows: Iterable[dict], model_id: str, judge: str) -> dict[str, float]:
    """Mean 1-10 score overall and per turn from data/mt_bench/model_judgment/<judge>_single.jsonl rows.

    A score of -1 is FastChat's mark of a judgment it could not parse; like its show_result.py, those
    rows are left out of the means (and counted in n_failed)."""
    mine = [r for r in rows if r["model"] == model_id]
    judged = [r for r in mine if r["score"] != -1]
    metrics = {metric_key("mt_bench", judge, "n_judged"): float(len(judged)),
               metric_key("mt_bench", judge, "n_failed"): float(len(mine) - len(judged))}
    if not judged:
        return metrics
    metrics[metric_key("mt_bench", judge, "score")] = sum(r["score"] for r in judged) / len(judged)
    for turn in sorted({r["turn"] for r in judged}):
        scores = [r["score"] for r in judged if r["turn"] == turn]
        metrics[metric_key("mt_bench", judge, f"turn_{turn}")] = sum(scores) / len(scores)
    return metrics


# --- Arena-Hard: pairwise games against the baseline ----------------------------------------------

# A verdict names the better of the answers shown as A and B; the policy's outcome depends on which
# letter it was shown as. Arena-Hard plays each question twice, swapping the order.
_A_WINS, _TIE, _B_WINS = {"A>>B", "A>B"}, {"A=B"}, {"B>A", "B>>A"}


def policy_outcome(verdict: str | None, policy_is_a: bool) -> float | None:
    """1 win, 0.5 tie, 0 loss for the policy; None for a missing or unparsed verdict."""
    if verdict in _TIE:
        return 0.5
    if verdict in _A_WINS:
        return 1.0 if policy_is_a else 0.0
    if verdict in _B_WINS:
        return 0.0 if policy_is_a else 1.0
    return None


def arena_hard_metrics(rows: Iterable[dict], model_id: str, judge: str, baseline: str) -> dict[str, float]:
    """Plain win rate (percent) of the policy against the baseline from gen_judgment.py's rows.

    Each row is one question with two games: game 1 shows the baseline as A and the policy as B, game 2
    the reverse. Every parsed game counts once, a tie as half a win, and strong (>>) and slight (>)
    verdicts weigh the same. This is not Arena-Hard's headline score (a Bradley-Terry fit with bootstrap
    confidence intervals in show_result.py), hence the key 'win_rate_vs_<baseline>'."""
    outcomes: list[float] = []
    unparsed = 0
    for row in rows:
        if row["model"] != model_id:
            continue
        if row["baseline"] != baseline:
            raise ValueError(f"judgment of question {row.get('uid')} is against '{row['baseline']}', not the "
                             f"configured baseline_model '{baseline}'")
        for game, policy_is_a in zip(row["games"], (False, True)):
            outcome = policy_outcome((game or {}).get("score"), policy_is_a)
            if outcome is None:
                unparsed += 1
            else:
                outcomes.append(outcome)
    metrics = {metric_key("arena_hard", judge, "n_games"): float(len(outcomes)),
               metric_key("arena_hard", judge, "n_unparsed"): float(unparsed)}
    if outcomes:
        metrics[metric_key("arena_hard", judge, f"win_rate_vs_{baseline}")] = 100.0 * sum(outcomes) / len(outcomes)
    return metrics

"""Arena-Hard: an API judge compares the policy's answers with a baseline model's, question by question.

Answers and judgments come from arena-hard-auto's own gen_answer.py and gen_judgment.py, run in its
environment (eval.arena_hard.python) by repro.evals.judge_bench_run; the win rate lands under
'arena_hard/<judge>/win_rate_vs_<baseline>'.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from repro.evals.judge_bench import JudgeBenchEvaluator
from repro.spec import Strict


class ArenaHardSpec(Strict):
    """Arena-Hard-Auto with its own gen_answer.py / gen_judgment.py (a checkout, not a PyPI package), run by the
    interpreter of its environment; the policy is served to gen_answer.py by vLLM's OpenAI-compatible server."""

    python: str = Field(description="interpreter of the environment with arena-hard-auto's requirements.txt, "
                                    "e.g. /opt/arena-hard-venv/bin/python")
    repo_dir: str = Field(description="arena-hard-auto checkout holding gen_answer.py, gen_judgment.py, utils/ "
                                      "and config/<bench_name>.yaml")
    data_dir: str | None = Field(None, description="folder holding <bench_name>/question.jsonl and "
                                                   "<bench_name>/model_answer/<baseline_model>.jsonl; "
                                                   "None = <repo_dir>/data")
    bench_name: str = Field("arena-hard-v0.1",
                            description="question set: a folder of data_dir and a config of repo_dir")
    model_id: str = Field("repro-policy", description="name the policy is served and judged under")
    judge_model: str = Field("gpt-4-1106-preview", description="judge, an OpenAI model name; part of every metric key")
    judge_api_base: str | None = Field(None, description="OpenAI-compatible endpoint serving the judge; None = "
                                                         "api.openai.com, which needs OPENAI_API_KEY")
    baseline_model: str = Field("gpt-4-0314", description="baseline whose answers the policy is judged against; "
                                                          "arena-hard-auto fixes it per question category "
                                                          "(gpt-4-0314 for arena-hard-v0.1) and the runner checks it")
    parallel: int = Field(8, gt=0, description="concurrent answer requests and judge calls")
    max_tokens: int = Field(4096, gt=0, description="longest policy answer, in tokens")
    serve_python: str | None = Field(None, description="interpreter with vllm installed; None = python")
    serve_port: int = Field(8000, gt=0, lt=65536, description="port of the policy's vLLM server on 127.0.0.1")
    serve_timeout_s: int = Field(900, gt=0, description="how long to wait for the vLLM server to answer")
    chat_template: str | None = Field(None, description="Jinja chat template for vLLM (--chat-template) when the "
                                                        "policy's tokenizer has none")


def arena_hard_data_dir(section: ArenaHardSpec) -> Path:
    return Path(section.data_dir) if section.data_dir else Path(section.repo_dir) / "data"


class ArenaHardEvaluator(JudgeBenchEvaluator):
    name = "arena_hard"
    Config = ArenaHardSpec

    def question_file(self, section: ArenaHardSpec) -> Path:
        return arena_hard_data_dir(section) / section.bench_name / "question.jsonl"

"""MT-Bench: the policy answers FastChat's 80 two-turn questions and an API judge grades each turn 1-10.

Answers and judgments come from FastChat's own llm_judge scripts, run in FastChat's environment
(eval.mt_bench.python, built by `make fastchat-env`) by repro.evals.judge_bench_run; scores land under
'mt_bench/<judge>/...'. Answers come from gen_model_answer.py (CUDA only: FastChat hard-codes it) or,
with `answers: served`, from gen_api_answer.py against FastChat's own OpenAI-compatible server stack
(controller, model worker, API server on 127.0.0.1), which runs on CPU too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_serializer, model_validator

from repro.evals.judge_bench import JudgeBenchEvaluator
from repro.spec import Strict, omit_when_default


class MtBenchSpec(Strict):
    """MT-Bench with FastChat's own llm_judge scripts, run by the interpreter of FastChat's environment
    (fschat[llm_judge] pins openai<1, so it cannot share the harness's environment)."""

    python: str = Field(description="interpreter of the environment with fschat[llm_judge] installed, "
                                    "e.g. /opt/fastchat-venv/bin/python")
    data_dir: str = Field(description="a FastChat checkout's fastchat/llm_judge/data folder: judge_prompts.jsonl, "
                                      "mt_bench/question.jsonl and mt_bench/reference_answer/<judge_model>.jsonl")
    model_id: str = Field("repro-policy", description="name of the policy's answers; FastChat also picks its "
                                                      "conversation template from this name")
    judge_model: str = Field("gpt-4", description="judge, an OpenAI model name FastChat knows; "
                                                  "part of every metric key")
    judge_api_base: str | None = Field(None, description="OpenAI-compatible endpoint serving the judge; None = "
                                                         "api.openai.com, which needs OPENAI_API_KEY")
    parallel: int = Field(4, gt=0, description="concurrent judge calls (gen_judgment --parallel)")
    max_new_token: int = Field(1024, gt=0, description="tokens generated per turn (gen_model_answer --max-new-token)")
    dtype: Literal["float32", "float16", "bfloat16"] | None = Field(
        None, description="policy dtype for answer generation; None = FastChat's default (fp16 on GPU)")
    answers: Literal["model", "served"] = Field(
        "model", description="how the policy answers: 'model' = FastChat's gen_model_answer.py (loads the policy "
        "itself; CUDA only), 'served' = FastChat's controller, model worker and OpenAI-compatible API server on "
        "127.0.0.1, queried by its gen_api_answer.py (CPU or GPU)")
    device: Literal["cuda", "cpu"] = Field("cuda", description="device of the model worker (answers: served)")
    conv_template: str | None = Field(None, description="FastChat conversation template the model worker prompts "
                                                        "with (answers: served; e.g. 'raw' for a base model); "
                                                        "None = the one FastChat matches to the model path")
    serve_timeout_s: int = Field(600, gt=0, description="how long to wait for the served policy to be listed")

    @model_validator(mode="after")
    def _gen_model_answer_needs_cuda(self) -> "MtBenchSpec":
        if self.answers == "model" and self.device != "cuda":
            raise ValueError("FastChat's gen_model_answer.py moves the policy to CUDA unconditionally; "
                             "with device: cpu set answers: served")
        return self

    @model_serializer(mode="wrap")
    def _omit_serving_at_defaults(self, handler):
        return omit_when_default(handler(self), self, "answers", "device", "conv_template", "serve_timeout_s")


class MtBenchEvaluator(JudgeBenchEvaluator):
    name = "mt_bench"
    Config = MtBenchSpec

    def question_file(self, section: MtBenchSpec) -> Path:
        return Path(section.data_dir) / "mt_bench" / "question.jsonl"

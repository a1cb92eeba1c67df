"""AlpacaEval judged by an LLM behind an OpenAI-compatible API (eval.alpaca_eval_api).

The paper's AlpacaEval 2 number is this evaluator with its defaults: alpaca-eval's weighted GPT-4 Turbo
annotator, against alpaca_eval_gpt4_baseline.json, length-controlled. The same annotator served by a local
endpoint (vLLM, or any OpenAI-compatible server) is a different judge and gets a different metric key.
Sampling and judging live in repro.evals.alpaca_eval_api_run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from repro.evals import PairedEvaluator
from repro.layout import Layout
from repro.spec import RunSpec, Strict
from repro.stages import Stage
from repro.worlds import WorldFiles


class AlpacaEvalApiSpec(Strict):
    """AlpacaEval judged by an LLM behind an OpenAI-compatible API: alpaca-eval's stock annotator (AlpacaEval 2's
    weighted GPT-4 Turbo by default) or the same prompt served by a local endpoint, which is recorded as a
    different judge. The key reaches the judge through OPENAI_API_KEY in the environment only."""

    annotator: str = Field("weighted_alpaca_eval_gpt4_turbo",
                           description="alpaca-eval annotator config (its evaluators_configs folder) that calls "
                                       "openai_completions; its prompt and parser are used unchanged")
    judge_model: str | None = Field(None, description="model name sent to the endpoint; None = the annotator's own "
                                                      "(gpt-4-1106-preview for AlpacaEval 2)")
    judge_api_base: str | None = Field(None, description="OpenAI-compatible endpoint serving the judge, e.g. a vLLM "
                                                         "server; None = api.openai.com, which needs OPENAI_API_KEY")
    judge_name: str | None = Field(None, description="judge name in metric keys (alpaca_eval/<judge>/...); None = "
                                                     "the annotator, plus '@<model>' when judge_model or "
                                                     "judge_api_base changes who judges")
    reference_outputs: str | None = Field(
        None, description="JSON/JSONL of {instruction, output} rows the policy is judged against, its instructions "
        "the evaluation set (AlpacaEval 2: alpaca_eval_gpt4_baseline.json, fetched once where there is network); "
        "None = the world's held-out prompts against the SFT policy's samples")
    max_instances: int | None = Field(None, gt=0, description="cap on evaluated instructions; None = every row of "
                                                               "reference_outputs, or eval.n_prompts without it")
    max_new_tokens: int | None = Field(None, gt=0, description="longest policy answer; None = generation.max_new_tokens")
    length_controlled: bool = Field(False, description="also report alpaca-eval's length-controlled win rate; needs "
                                                       "tatsu-lab/alpaca_eval's df_gamed.csv in the HF cache and is "
                                                       "meaningful only on the 805 AlpacaEval instructions")
    parallel: int = Field(4, gt=0, description="concurrent judge requests")


def judge_name(cfg: AlpacaEvalApiSpec) -> str:
    """Name of the judge in metric keys: the stock annotator keeps its own name; another model or another
    endpoint is another judge ('<annotator>@<model>'), so its scores never share a column with GPT-4's."""
    if cfg.judge_name:
        return cfg.judge_name
    if cfg.judge_model:
        # A served model is often named by its path (/models/Meta-Llama-3-70B-Instruct): keep the last part.
        return f"{cfg.annotator}@{cfg.judge_model.rstrip('/').rsplit('/', 1)[-1]}"
    if cfg.judge_api_base:
        return f"{cfg.annotator}@endpoint"
    return cfg.annotator


class AlpacaEvalApiEvaluator(PairedEvaluator):
    name = "alpaca_eval_api"
    Config = AlpacaEvalApiSpec
    module = "repro.evals.alpaca_eval_api_run"
    requires = ["torch", "transformers", "alpaca_eval", "openai"]

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        # The judge's key is not in argv or env: the launcher passes its own environment through, so
        # OPENAI_API_KEY reaches the runner without landing in command.sh, stage.json or the record.
        base = super().stage(spec, layout, world, policy, reference, needs)
        cfg = self.config_from(spec)
        inputs = [str(policy), str(reference), str(world.prompts_test)]
        if cfg.reference_outputs:
            inputs.append(cfg.reference_outputs)
        return base.model_copy(update={"inputs": inputs})

"""AlpacaEval judged by an LLM behind an OpenAI-compatible API (eval.alpaca_eval_api).

The paper's AlpacaEval 2 number is this evaluator with its defaults: alpaca-eval's weighted GPT-4 Turbo
annotator, against alpaca_eval_gpt4_baseline.json, length-controlled. The same annotator served by a local
endpoint (vLLM, or any OpenAI-compatible server) is a different judge and gets a different metric key.
Sampling and judging live in repro.evals.alpaca_eval_api_run.
"""

from __future__ import annotations

from pathlib import Path

from repro.evals import PairedEvaluator
from repro.layout import Layout
from repro.spec import AlpacaEvalApiSpec, RunSpec
from repro.stages import Stage
from repro.worlds import WorldFiles


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
    module = "repro.evals.alpaca_eval_api_run"
    requires = ["torch", "transformers", "alpaca_eval", "openai"]

    def stage(self, spec: RunSpec, layout: Layout, world: WorldFiles, policy: Path, reference: Path,
              needs: list[str]) -> Stage:
        # The judge's key is not in argv or env: the launcher passes its own environment through, so
        # OPENAI_API_KEY reaches the runner without landing in command.sh, stage.json or the record.
        base = super().stage(spec, layout, world, policy, reference, needs)
        cfg = spec.eval.alpaca_eval_api
        inputs = [str(policy), str(reference), str(world.prompts_test)]
        if cfg.reference_outputs:
            inputs.append(cfg.reference_outputs)
        return base.model_copy(update={"inputs": inputs})

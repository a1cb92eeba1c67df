"""AlpacaEval with an API judge: the policy answers the evaluation set and alpaca-eval's own annotator (prompt,
OpenAI client, log-prob parser, win-rate metrics) judges it against the reference outputs.

Run as a stage: python -m repro.evals.alpaca_eval_api_run --world DIR --policy DIR --reference DIR --eval JSON ...
Preconditions (judge key, annotator, reference file, length-control data) are checked before any model loads.
The judge's endpoint goes into a client config file; the key never does: openai.OpenAI() reads it from
OPENAI_API_KEY in this process's environment.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from repro.evals import parse_paired_args
from repro.evals.alpaca_eval_api import AlpacaEvalApiSpec, judge_name
from repro.evals.alpaca_eval_run import (POLICY_STREAM, REFERENCE_STREAM, alpaca_eval_policy_row, sample_outputs,
                                        world_prompts)
from repro.evals.judge_key import judge_env, judge_key_problem
from repro.store import atomic_write_json, read_jsonl
from repro.worlds import WorldFiles

SECTION = "eval.alpaca_eval_api"
KEPT_METRICS = ("win_rate", "standard_error", "discrete_win_rate", "n_wins", "n_draws", "n_total", "avg_length",
                "length_controlled_winrate", "lc_standard_error")
# Where alpaca-eval's length-controlled win rate reads instruction difficulty and gamed baselines from.
LC_DATA = {"repo_id": "tatsu-lab/alpaca_eval", "filename": "df_gamed.csv", "repo_type": "dataset"}


# --- preconditions ----------------------------------------------------------------------------------

def stock_annotator(name: str) -> tuple[dict, Path]:
    """alpaca-eval's own config of annotator `name` and the folder its relative paths are resolved against."""
    from alpaca_eval.constants import EVALUATORS_CONFIG_DIR

    path = Path(EVALUATORS_CONFIG_DIR) / name / "configs.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in Path(EVALUATORS_CONFIG_DIR).glob("*/configs.yaml"))
        raise ValueError(f"{SECTION}.annotator: alpaca-eval has no annotator '{name}' (known: {', '.join(known)})")
    return yaml.safe_load(path.read_text())[name], Path(EVALUATORS_CONFIG_DIR)


def annotator_problem(name: str) -> str | None:
    try:
        stock, _ = stock_annotator(name)
    except ValueError as e:
        return str(e)
    if stock.get("fn_completions") != "openai_completions":
        return (f"{SECTION}.annotator: '{name}' calls {stock.get('fn_completions')}, not openai_completions; "
                f"this evaluator serves only OpenAI-compatible judges")
    return None


def lc_data_cached() -> bool:
    from alpaca_eval import constants
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(**LC_DATA, cache_dir=constants.DEFAULT_CACHE_DIR)
    return isinstance(found, str)


def problems(cfg: AlpacaEvalApiSpec, policy: Path, environ: Mapping[str, str]) -> list[str]:
    """Everything that would stop the run, all at once, before any work."""
    found = [annotator_problem(cfg.annotator)]
    model = cfg.judge_model or "of " + cfg.annotator
    found.append(judge_key_problem(SECTION, model, cfg.judge_api_base, environ))
    if not policy.is_dir():
        found.append(f"policy checkpoint not found: expected the folder {policy}")
    if cfg.reference_outputs and not Path(cfg.reference_outputs).is_file():
        found.append(f"{SECTION}.reference_outputs not found: expected the file {cfg.reference_outputs} "
                     "(AlpacaEval 2: alpaca_eval_gpt4_baseline.json of tatsu-lab/alpaca_eval)")
    if cfg.length_controlled and not lc_data_cached():
        found.append(f"{SECTION}.length_controlled needs {LC_DATA['filename']} of {LC_DATA['repo_id']} in the HF "
                     "cache: fetch it once where there is network (huggingface-cli download --repo-type dataset "
                     f"{LC_DATA['repo_id']} {LC_DATA['filename']}), or set length_controlled: false")
    return [p for p in found if p]


# --- the judge --------------------------------------------------------------------------------------

def judge_config(stock: dict, stock_dir: Path, cfg: AlpacaEvalApiSpec, client_config: Path) -> dict:
    """The stock annotator's config with the judge's model and endpoint swapped in; its prompt and parser unchanged.

    requires_chatml stays on for any model: the stock prompts are ChatML, and alpaca-eval would otherwise send
    models with 'instruct' in their name to the legacy completions API."""
    out = json.loads(json.dumps(stock))
    out["prompt_template"] = str((stock_dir / stock["prompt_template"]).resolve())
    kwargs = out.setdefault("completions_kwargs", {})
    if cfg.judge_model:
        kwargs["model_name"] = cfg.judge_model
    kwargs.setdefault("requires_chatml", True)
    kwargs["client_config_path"] = str(client_config)
    kwargs["num_procs"] = cfg.parallel
    return out


def client_config(api_base: str | None) -> dict:
    """alpaca-eval's client list: one openai.OpenAI(); no api_key entry, so the client reads OPENAI_API_KEY (and,
    without an endpoint here, OPENAI_BASE_URL) from the environment."""
    return {"default": [{"base_url": api_base} if api_base else {}]}


def write_judge(cfg: AlpacaEvalApiSpec, folder: Path, judge: str) -> Path:
    stock, stock_dir = stock_annotator(cfg.annotator)
    folder.mkdir(parents=True, exist_ok=True)
    clients = folder / "client_config.yaml"
    clients.write_text(yaml.safe_dump(client_config(cfg.judge_api_base)))
    cfg_dir = folder / judge
    cfg_dir.mkdir(parents=True, exist_ok=True)
    path = cfg_dir / "configs.yaml"
    path.write_text(yaml.safe_dump({judge: judge_config(stock, stock_dir, cfg, clients)}, sort_keys=False))
    return path


def judged(instructions: list[str], outputs: list[str], references: list[str], cfg: AlpacaEvalApiSpec, out: Path,
           seed: int) -> dict[str, float]:
    """alpaca_eval.evaluate with the API judge; '<judge>/<metric>' -> value, annotations kept under `out`."""
    judge = judge_name(cfg)
    row, annotations = alpaca_eval_policy_row(
        instructions, outputs, references, out, seed,
        annotators_config=str(write_judge(cfg, out / "judge", judge)),
        fn_metric="get_length_controlled_winrate" if cfg.length_controlled else "get_winrate",
        # save_weights_dir=None: the length-control fit would otherwise write into alpaca-eval's install.
        metric_kwargs={"save_weights_dir": None} if cfg.length_controlled else None,
    )
    metrics = {f"{judge}/{k}": float(row[k]) for k in KEPT_METRICS if k in row}
    # Judgments the annotator could not parse (or the API refused) drop out of n_total; count them.
    metrics[f"{judge}/n_failed"] = float(len(instructions) - row["n_total"])
    price = annotations["price_per_example"].fillna(0).sum() if "price_per_example" in annotations else 0.0
    metrics[f"{judge}/judge_cost_usd"] = float(price)
    return metrics


# --- the evaluation set -----------------------------------------------------------------------------

def read_reference_outputs(path: Path) -> list[dict]:
    """AlpacaEval's JSON list (or JSONL) of {instruction, output, ...} rows."""
    rows = json.loads(path.read_text()) if path.suffix == ".json" else read_jsonl(path)
    bad = [i for i, r in enumerate(rows) if not isinstance(r.get("instruction"), str) or not isinstance(r.get("output"), str)]
    if bad:
        raise ValueError(f"{path}: rows {bad[:5]} lack a string 'instruction' and 'output'")
    return rows


def main() -> None:
    args, spec, gen = parse_paired_args(__doc__)
    cfg = spec.alpaca_eval_api
    found = problems(cfg, args.policy, os.environ)
    if found:
        sys.exit("alpaca_eval_api cannot start:\n  - " + "\n  - ".join(found))
    if cfg.max_new_tokens:
        gen = gen.model_copy(update={"max_new_tokens": cfg.max_new_tokens})

    if cfg.reference_outputs:
        rows = read_reference_outputs(Path(cfg.reference_outputs))[: cfg.max_instances]
        instructions, references = [r["instruction"] for r in rows], [r["output"] for r in rows]
        pol = sample_outputs(args.policy, instructions, gen, args.seed + POLICY_STREAM, args.chat_template)
        tokens = sum(len(s.response_ids) for s in pol)
    else:
        instructions = world_prompts(WorldFiles(args.world), cfg.max_instances or spec.n_prompts)
        pol = sample_outputs(args.policy, instructions, gen, args.seed + POLICY_STREAM, args.chat_template)
        ref = sample_outputs(args.reference, instructions, gen, args.seed + REFERENCE_STREAM, args.chat_template)
        references, tokens = [s.response for s in ref], sum(len(s.response_ids) for s in pol + ref)

    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.update(judge_env(cfg.judge_api_base, os.environ))
    scores = judged(instructions, [s.response for s in pol], references, cfg, args.out / "alpaca_eval", args.seed)
    metrics = {f"alpaca_eval/{k}": v for k, v in scores.items()}
    atomic_write_json(args.out / "report.json", {"metrics": metrics, "tokens": tokens})
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()

"""AlpacaEval with an API judge: judge names, the annotator config it writes, preconditions and key hygiene.
The judge itself runs for real in tests/integration/test_evaluators.py (alpaca-eval over HTTP)."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from repro.evals.alpaca_eval_api import AlpacaEvalApiSpec, judge_name
from repro.evals.alpaca_eval_api_run import (client_config, judge_config, lc_data_cached, main, problems,
                                             read_reference_outputs, stock_annotator, write_judge)
from repro.evals.judge_key import JUDGE_KEY_VAR
from repro.recipes import RecipeError, load_recipe
from repro.registry import EVALUATORS
from repro.runs import plan_run
from repro.spec import EvalSpec
from tests.conftest import needs

SECRET = "sk-alpaca-judge-secret-7731"
STOCK = "weighted_alpaca_eval_gpt4_turbo"


def test_the_stock_annotator_keeps_its_name_and_any_other_judge_gets_its_own():
    assert judge_name(AlpacaEvalApiSpec()) == STOCK
    assert judge_name(AlpacaEvalApiSpec(judge_model="/models/Meta-Llama-3-70B-Instruct/",
                                        judge_api_base="http://gpu7:8000/v1")) == f"{STOCK}@Meta-Llama-3-70B-Instruct"
    assert judge_name(AlpacaEvalApiSpec(judge_model="gpt-4o")) == f"{STOCK}@gpt-4o"
    assert judge_name(AlpacaEvalApiSpec(judge_api_base="http://proxy/v1")) == f"{STOCK}@endpoint"
    assert judge_name(AlpacaEvalApiSpec(judge_model="x", judge_name="llama70b")) == "llama70b"


def test_judge_config_swaps_model_and_endpoint_and_keeps_prompt_and_parser(tmp_path):
    stock = {"prompt_template": "clf/prompt.txt", "fn_completions": "openai_completions",
             "completions_kwargs": {"model_name": "gpt-4-1106-preview", "max_tokens": 1, "logprobs": True},
             "fn_completion_parser": "logprob_parser", "completion_parser_kwargs": {"numerator_token": "m"}}
    cfg = AlpacaEvalApiSpec(judge_model="served-judge", parallel=3)
    out = judge_config(stock, tmp_path, cfg, tmp_path / "clients.yaml")
    assert out["prompt_template"] == str(tmp_path / "clf" / "prompt.txt")
    assert out["completions_kwargs"] == {"model_name": "served-judge", "max_tokens": 1, "logprobs": True,
                                         "requires_chatml": True, "client_config_path": str(tmp_path / "clients.yaml"),
                                         "num_procs": 3}
    assert out["fn_completion_parser"] == "logprob_parser" and out["completion_parser_kwargs"] == {"numerator_token": "m"}
    assert stock["completions_kwargs"]["model_name"] == "gpt-4-1106-preview"  # the stock dict is not touched
    # Without judge_model the annotator's own judge is called.
    assert judge_config(stock, tmp_path, AlpacaEvalApiSpec(), tmp_path / "c")["completions_kwargs"]["model_name"] == \
        "gpt-4-1106-preview"


@needs("alpaca_eval")
def test_written_judge_files_hold_the_endpoint_but_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv(JUDGE_KEY_VAR, SECRET)
    cfg = AlpacaEvalApiSpec(judge_api_base="http://127.0.0.1:9/v1", judge_model="j")
    path = write_judge(cfg, tmp_path, judge_name(cfg))
    written = {p.name: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(written) == {"configs.yaml", "client_config.yaml"}
    assert all(SECRET not in text for text in written.values())
    assert yaml.safe_load(written["client_config.yaml"]) == {"default": [{"base_url": "http://127.0.0.1:9/v1"}]}
    config = yaml.safe_load(path.read_text())
    assert list(config) == [f"{STOCK}@j"] and Path(config[f"{STOCK}@j"]["prompt_template"]).is_file()
    assert client_config(None) == {"default": [{}]}  # the client reads OPENAI_API_KEY / OPENAI_BASE_URL itself


@needs("alpaca_eval")
def test_stock_annotator_is_read_from_alpaca_evals_own_configs():
    stock, folder = stock_annotator(STOCK)
    assert stock["fn_completions"] == "openai_completions" and (folder / stock["prompt_template"]).is_file()


@needs("alpaca_eval")
def test_problems_are_reported_together_and_name_what_to_do(tmp_path):
    cfg = AlpacaEvalApiSpec(reference_outputs=str(tmp_path / "alpaca_eval_gpt4_baseline.json"))
    found = problems(cfg, tmp_path / "no-policy", {})
    joined = "\n".join(found)
    assert len(found) == 3
    assert "OPENAI_API_KEY is not set: the judge of weighted_alpaca_eval_gpt4_turbo is called at api.openai.com" in joined
    assert "or set eval.alpaca_eval_api.judge_api_base" in joined
    assert f"policy checkpoint not found: expected the folder {tmp_path / 'no-policy'}" in joined
    assert f"reference_outputs not found: expected the file {tmp_path / 'alpaca_eval_gpt4_baseline.json'}" in joined
    # A local endpoint needs no key.
    (tmp_path / "policy").mkdir()
    assert problems(AlpacaEvalApiSpec(judge_api_base="http://x/v1"), tmp_path / "policy", {}) == []


@needs("alpaca_eval")
def test_unknown_or_non_api_annotators_are_refused_by_name(tmp_path):
    (tmp_path / "policy").mkdir()
    env = {JUDGE_KEY_VAR: SECRET}
    [unknown] = problems(AlpacaEvalApiSpec(annotator="weighted_gpt5"), tmp_path / "policy", env)
    assert "alpaca-eval has no annotator 'weighted_gpt5' (known: " in unknown and STOCK in unknown
    [local] = problems(AlpacaEvalApiSpec(annotator="alpaca_eval_vllm_llama3_70b_fn"), tmp_path / "policy", env)
    assert "calls vllm_local_completions, not openai_completions" in local


@needs("alpaca_eval")
def test_length_control_needs_its_data_in_the_hf_cache(tmp_path, monkeypatch):
    from alpaca_eval import constants

    monkeypatch.setattr(constants, "DEFAULT_CACHE_DIR", str(tmp_path / "hub"))
    (tmp_path / "policy").mkdir()
    [missing] = problems(AlpacaEvalApiSpec(length_controlled=True), tmp_path / "policy", {JUDGE_KEY_VAR: SECRET})
    assert "length_controlled needs df_gamed.csv of tatsu-lab/alpaca_eval in the HF cache" in missing
    # The huggingface_hub cache layout of one fetched file: refs/main names the snapshot holding it.
    repo = tmp_path / "hub" / "datasets--tatsu-lab--alpaca_eval"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd" / "df_gamed.csv").write_text("index,instruction_difficulty\n")
    assert lc_data_cached()


def test_reference_outputs_are_read_from_json_or_jsonl_and_checked(tmp_path):
    rows = [{"instruction": "Say hi", "output": "Hi!", "generator": "gpt4_turbo"}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "a.jsonl").write_text(json.dumps(rows[0]) + "\n")
    assert read_reference_outputs(tmp_path / "a.json") == read_reference_outputs(tmp_path / "a.jsonl") == rows
    (tmp_path / "bad.json").write_text(json.dumps([{"instruction": "x"}]))
    with pytest.raises(ValueError, match=r"rows \[0\] lack a string 'instruction' and 'output'"):
        read_reference_outputs(tmp_path / "bad.json")


@needs("alpaca_eval")
def test_main_stops_before_loading_any_model_when_a_precondition_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(JUDGE_KEY_VAR, raising=False)
    out = tmp_path / "eval-alpaca_eval_api"
    spec = EvalSpec(evaluators=["alpaca_eval_api"], alpaca_eval_api=AlpacaEvalApiSpec())
    monkeypatch.setattr(sys, "argv", ["run", "--world", str(tmp_path), "--policy", str(tmp_path / "p"),
                                      "--reference", str(tmp_path / "r"), "--eval", spec.model_dump_json(),
                                      "--generation", "{}", "--seed", "0", "--out", str(out)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert str(stop.value).startswith("alpaca_eval_api cannot start:\n  - ")
    assert "OPENAI_API_KEY is not set" in str(stop.value) and not out.exists()


def test_naming_the_evaluator_needs_its_section_and_an_empty_one_takes_the_defaults():
    with pytest.raises(RecipeError, match=r"needs an 'eval\.alpaca_eval_api' section"):
        load_recipe("imdb", ["eval.evaluators=[alpaca_eval_api]"])
    spec = load_recipe("imdb", ["eval.evaluators=[alpaca_eval_api]", "eval.alpaca_eval_api={}"])
    assert spec.eval.alpaca_eval_api == AlpacaEvalApiSpec()
    assert "alpaca_eval_api" not in load_recipe("imdb").eval.model_dump()  # absent: run ids unchanged


def test_stage_tracks_the_reference_file_and_keeps_the_key_out(results_root, monkeypatch):
    monkeypatch.setenv(JUDGE_KEY_VAR, SECRET)
    assert EVALUATORS.target("alpaca_eval_api") == "repro.evals.alpaca_eval_api:AlpacaEvalApiEvaluator"
    plan = plan_run("dpo", "imdb/smoke", overrides=("eval.evaluators=[alpaca_eval_api]",
                                                   "eval.alpaca_eval_api.reference_outputs=/data/ref.json"),
                    results_root=results_root)
    (stage,) = [s for s in plan.stages if s.name == "eval-alpaca_eval_api"]
    assert stage.argv[1:3] == ["-m", "repro.evals.alpaca_eval_api_run"] and stage.needs == ["dpo"]
    assert "/data/ref.json" in stage.inputs and not any(i.endswith("/gold") for i in stage.inputs)
    assert SECRET not in stage.model_dump_json() and JUDGE_KEY_VAR not in stage.env

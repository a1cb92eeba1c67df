"""Pure helpers of the lm-eval and AlpacaEval evaluators: metric keys, task files, the local judge."""

from pathlib import Path

import pytest
import yaml

from repro.evals.alpaca_eval_run import (JUDGE, PROMPT_TEMPLATE, score_judge, split_judge_prompt, verdict,
                                         write_judge_config)
from repro.evals.lm_eval_run import GEN_TASK, MC_TASK, flatten_results, metric_key, task_configs, write_tasks
from repro.registry import EVALUATORS


def test_metric_key_strips_the_none_filter_and_keeps_named_ones():
    assert metric_key("imdb_sentiment_mc", "acc,none") == "lm_eval/imdb_sentiment_mc/acc"
    assert metric_key("t", "acc_stderr,none") == "lm_eval/t/acc_stderr"
    assert metric_key("t", "exact_match,strict-match") == "lm_eval/t/exact_match@strict-match"
    assert metric_key("t", "sample_len") == "lm_eval/t/sample_len"


def test_flatten_results_keeps_finite_numbers_only():
    raw = {"results": {"b": {"alias": "b", "acc,none": 0.5, "acc_stderr,none": "N/A", "name": "b"},
                       "a": {"gold_positive,none": 0.25, "x,none": float("nan"), "flag,none": True}}}
    assert flatten_results(raw) == {"lm_eval/b/acc": 0.5, "lm_eval/a/gold_positive": 0.25}
    assert flatten_results({}) == {}


def test_task_configs_use_absolute_data_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfgs = task_configs(Path("data/prompts_test.jsonl"), max_gen_toks=7)
    assert set(cfgs) == {MC_TASK, GEN_TASK}
    for cfg in cfgs.values():
        path = cfg["dataset_kwargs"]["data_files"]["test"]
        assert Path(path).is_absolute() and path == str(tmp_path / "data/prompts_test.jsonl")
    assert cfgs[MC_TASK]["output_type"] == "multiple_choice" and cfgs[MC_TASK]["doc_to_choice"] == [" bad", " good"]
    gen = cfgs[GEN_TASK]["generation_kwargs"]
    assert gen["max_gen_toks"] == 7 and gen["do_sample"] and gen["temperature"] == 1.0


def test_write_tasks_binds_the_gold_folder_in_the_hooks_module(tmp_path):
    folder = write_tasks(tmp_path / "tasks", tmp_path / "p.jsonl", tmp_path / "gold", 5)
    gen = (folder / f"{GEN_TASK}.yaml").read_text()
    assert "process_results: !function imdb_hooks.process_results" in gen
    assert repr(str(tmp_path / "gold")) in (folder / "imdb_hooks.py").read_text()
    assert yaml.safe_load((folder / f"{MC_TASK}.yaml").read_text())["task"] == MC_TASK


def test_judge_prompt_round_trips_and_verdicts():
    prompt = PROMPT_TEMPLATE.format(instruction="The film", output_1=" was {great}\n", output_2=" was bad")
    assert split_judge_prompt(prompt) == ("The film", " was {great}\n", " was bad")
    with pytest.raises(ValueError):
        split_judge_prompt("no markers")
    assert (verdict(0.9, 0.1), verdict(0.1, 0.9), verdict(0.5, 0.5)) == ("Output (a)", "Output (b)", "Tie")


def test_score_judge_prefers_the_higher_score():
    judge = score_judge(lambda texts: [t.count("good") for t in texts])
    prompts = [PROMPT_TEMPLATE.format(instruction="It", output_1=a, output_2=b)
               for a, b in [(" good", " bad"), (" bad", " good good"), (" ok", " ok")]]
    assert judge(prompts)["completions"] == ["Output (a)", "Output (b)", "Tie"]


def test_judge_config_is_named_and_parses_all_verdicts(tmp_path):
    path = write_judge_config(tmp_path)
    assert path == tmp_path / JUDGE / "configs.yaml"
    cfg = yaml.safe_load(path.read_text())[JUDGE]
    assert Path(cfg["prompt_template"]).read_text() == PROMPT_TEMPLATE and "fn_completions" not in cfg
    assert set(cfg["completion_parser_kwargs"]["outputs_to_match"]) == {1, 2, 1.5}


def test_evaluators_are_registered_without_importing_them():
    assert EVALUATORS.target("lm_eval") == "repro.evals.lm_eval:LmEvalEvaluator"
    assert EVALUATORS.target("alpaca_eval") == "repro.evals.alpaca_eval:AlpacaEvalEvaluator"


def test_alpaca_eval_win_rate_follows_the_judge(tmp_path):
    pytest.importorskip("alpaca_eval")
    from repro.evals.alpaca_eval_run import judged_win_rate

    scorer = lambda texts: [t.count("good") for t in texts]  # noqa: E731
    prompts = [f"Review {i}:" for i in range(12)]
    up = judged_win_rate(prompts, [" good"] * 12, [" bad"] * 12, scorer, tmp_path / "up")
    down = judged_win_rate(prompts, [" bad"] * 12, [" good"] * 12, scorer, tmp_path / "down")
    assert up[f"{JUDGE}/win_rate"] == 100.0 and down[f"{JUDGE}/win_rate"] == 0.0
    assert up[f"{JUDGE}/n_total"] == 12

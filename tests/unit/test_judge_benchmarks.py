"""MT-Bench and Arena-Hard: judgment parsers on hand-made files in the benchmarks' formats, recipe sections,
the rendered stages (golden), the runner's preconditions, and that the judge's key stays out of every file."""

import dataclasses
import json
import stat
import sys
from pathlib import Path

import pytest
import yaml

from repro.errors import RecipeError
from repro.evals.judge_bench import arena_hard_metrics, mt_bench_metrics, policy_outcome
from repro.store import read_jsonl
from repro.evals.judge_bench_run import (JUDGE_KEY_VAR, arena_hard_configs, arena_hard_problems, judge_env, main,
                                         mt_bench_commands, mt_bench_problems, run_mt_bench, without_judge_key)
from repro.recipes import load_recipe
from repro.registry import EVALUATORS
from repro.runs import plan_run, render_dry_run
from repro.evals.arena_hard import ArenaHardSpec
from repro.evals.mt_bench import MtBenchSpec
from repro.spec import EvalSpec
from tests.conftest import check_golden, normalise

SECRET = "sk-test-must-never-be-written-0123456789"
JUDGE_STAGES = ("eval-mt_bench", "eval-arena_hard", "eval-alpaca_eval_api")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- parsers ------------------------------------------------------------------------------------------

def mt_row(qid, turn, score, model="repro-policy"):
    """A row as FastChat's play_a_match_single writes it to <judge>_single.jsonl."""
    return {"question_id": qid, "model": model, "judge": ["gpt-4", "single-v1" if turn == 1 else "single-v1-multi-turn"],
            "user_prompt": "...", "judgment": f"Rating: [[{score}]]", "score": score, "turn": turn, "tstamp": 1.0}


def test_mt_bench_means_per_turn_skip_failed_judgments_and_other_models(tmp_path):
    path = write_jsonl(tmp_path / "model_judgment" / "gpt-4_single.jsonl", [
        mt_row(81, 1, 8), mt_row(82, 1, 6), mt_row(81, 2, 4), mt_row(82, 2, -1),  # -1: judge output unparsable
        mt_row(81, 1, 1, model="someone-else"),
    ])
    metrics = mt_bench_metrics(read_jsonl(path), "repro-policy", "gpt-4")
    assert metrics == {"mt_bench/gpt-4/score": 6.0, "mt_bench/gpt-4/turn_1": 7.0, "mt_bench/gpt-4/turn_2": 4.0,
                       "mt_bench/gpt-4/n_judged": 3.0, "mt_bench/gpt-4/n_failed": 1.0}


def test_mt_bench_with_every_judgment_failed_has_counts_but_no_score():
    metrics = mt_bench_metrics([mt_row(81, 1, -1)], "repro-policy", "gpt-4-turbo")
    assert metrics == {"mt_bench/gpt-4-turbo/n_judged": 0.0, "mt_bench/gpt-4-turbo/n_failed": 1.0}


def arena_row(uid, game_1, game_2, model="repro-policy", baseline="gpt-4-0314"):
    """A row as arena-hard-auto's gen_judgment.py writes it: game 1 shows the baseline as A, game 2 as B."""
    games = [None if v is None else {"score": v, "judgment": {"answer": f"[[{v}]]"}, "prompt": []}
             for v in (game_1, game_2)]
    return {"uid": uid, "category": "arena-hard-v0.1", "judge": "gpt-4-1106-preview", "model": model,
            "baseline": baseline, "games": games}


def test_verdicts_flip_with_the_order_the_policy_was_shown_in():
    assert [policy_outcome(v, policy_is_a=False) for v in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == [0, 0, .5, 1, 1]
    assert [policy_outcome(v, policy_is_a=True) for v in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == [1, 1, .5, 0, 0]
    assert policy_outcome(None, True) is None and policy_outcome("A<B", False) is None


def test_arena_hard_plain_win_rate_counts_each_parsed_game_and_ties_as_half(tmp_path):
    path = write_jsonl(tmp_path / "gpt-4-1106-preview" / "repro-policy.jsonl", [
        arena_row("q1", "B>>A", "A=B"),   # policy wins game 1, ties game 2
        arena_row("q2", "A>B", None),     # loses game 1; game 2 has no judgment
        arena_row("q3", "B>A", "B>>A"),   # wins as B, then loses as A
        arena_row("q4", "B>A", "A>>B"),   # wins both orders
        arena_row("q5", "garbled", "A>B"),  # an unparsed verdict, then a win as A
        arena_row("q1", "A>>B", "B>>A", model="someone-else"),
    ])
    metrics = arena_hard_metrics(read_jsonl(path), "repro-policy", "gpt-4-1106-preview", "gpt-4-0314")
    # outcomes: 1, .5 | 0 | 1, 0 | 1, 1 | 1  -> 5.5 of 8
    assert metrics == {"arena_hard/gpt-4-1106-preview/win_rate_vs_gpt-4-0314": pytest.approx(100 * 5.5 / 8),
                       "arena_hard/gpt-4-1106-preview/n_games": 8.0,
                       "arena_hard/gpt-4-1106-preview/n_unparsed": 2.0}


def test_arena_hard_refuses_judgments_against_another_baseline():
    with pytest.raises(ValueError, match="'o3-mini-2025-01-31', not the configured baseline_model 'gpt-4-0314'"):
        arena_hard_metrics([arena_row("q1", "A=B", "A=B", baseline="o3-mini-2025-01-31")],
                           "repro-policy", "gpt-4.1", "gpt-4-0314")


# --- recipe sections and rendered stages --------------------------------------------------------------

def test_cluster_evals_recipe_has_both_sections_with_the_documented_defaults():
    spec = load_recipe("imdb/cluster-evals")
    assert spec.eval.evaluators == ["gold", "mt_bench", "arena_hard", "alpaca_eval_api"]
    assert spec.eval.mt_bench.judge_model == "gpt-4" and spec.eval.mt_bench.python == "/opt/fastchat-venv/bin/python"
    assert (spec.eval.arena_hard.judge_model, spec.eval.arena_hard.baseline_model) == ("gpt-4-1106-preview", "gpt-4-0314")


@pytest.mark.parametrize("name", ["mt_bench", "arena_hard"])
def test_naming_an_evaluator_without_its_section_names_the_missing_key(name):
    with pytest.raises(RecipeError, match=rf"needs an 'eval\.{name}' section"):
        load_recipe("imdb", [f"eval.evaluators=[gold,{name}]"])


def test_absent_sections_leave_the_spec_dump_and_run_ids_unchanged():
    dumped = EvalSpec().model_dump()
    assert set(dumped) == {"evaluators", "n_prompts", "samples_per_prompt"}
    with_section = EvalSpec(evaluators=["mt_bench"], mt_bench=MtBenchSpec(python="p", data_dir="d")).model_dump()
    assert with_section["mt_bench"]["judge_model"] == "gpt-4" and "arena_hard" not in with_section


def test_evaluators_are_registered_without_importing_them():
    assert EVALUATORS.target("mt_bench") == "repro.evals.mt_bench:MtBenchEvaluator"
    assert EVALUATORS.target("arena_hard") == "repro.evals.arena_hard:ArenaHardEvaluator"


def judge_stage_plan(results_root):
    plan = plan_run("dpo", "imdb/cluster-evals", results_root=results_root)
    return dataclasses.replace(plan, stages=[s for s in plan.stages if s.name in JUDGE_STAGES])


def test_dry_run_of_the_judge_stages_golden(results_root):
    plan = judge_stage_plan(results_root)
    assert [s.name for s in plan.stages] == list(JUDGE_STAGES)
    check_golden("dry_run_cluster_evals.txt", normalise(render_dry_run(plan), results_root))


def test_stages_run_the_runner_with_their_section_and_track_the_question_file(results_root):
    stages = {s.name: s for s in judge_stage_plan(results_root).stages}
    mt, arena = stages["eval-mt_bench"], stages["eval-arena_hard"]
    assert mt.argv[1:4] == ["-m", "repro.evals.judge_bench_run", "mt_bench"]
    assert MtBenchSpec.model_validate_json(mt.argv[mt.argv.index("--config") + 1]).data_dir == \
        "/opt/FastChat/fastchat/llm_judge/data"
    assert "/opt/FastChat/fastchat/llm_judge/data/mt_bench/question.jsonl" in mt.inputs
    assert "/opt/arena-hard-auto/data/arena-hard-v0.1/question.jsonl" in arena.inputs
    assert mt.report.endswith("eval-mt_bench/report.json") and mt.needs == arena.needs == ["dpo"]


def test_the_judge_key_never_reaches_commands_env_or_stage_files(results_root, monkeypatch):
    monkeypatch.setenv(JUDGE_KEY_VAR, SECRET)
    plan = judge_stage_plan(results_root)
    assert SECRET not in render_dry_run(plan)
    for stage in plan.stages:
        assert SECRET not in stage.model_dump_json() and JUDGE_KEY_VAR not in stage.env
    cfg = load_recipe("imdb/cluster-evals").eval
    generate, judge = mt_bench_commands(cfg.mt_bench, Path("/policy"))
    assert SECRET not in " ".join(generate + judge)
    assert SECRET not in yaml.safe_dump(arena_hard_configs(cfg.arena_hard, {"max_tokens": 4096}))
    # Only the judging step's environment carries it; answer generation does not get it at all.
    assert judge_env(None, {JUDGE_KEY_VAR: SECRET})[JUDGE_KEY_VAR] == SECRET
    assert JUDGE_KEY_VAR not in without_judge_key({JUDGE_KEY_VAR: SECRET, "PATH": "/bin"})


# --- command lines and configs ------------------------------------------------------------------------

def test_mt_bench_command_lines_use_fastchats_flags():
    cfg = MtBenchSpec(python="/env/bin/python", data_dir="/d", judge_model="gpt-4", parallel=3, dtype="bfloat16")
    generate, judge = mt_bench_commands(cfg, Path("/run/model"))
    assert generate == ["/env/bin/python", "-m", "fastchat.llm_judge.gen_model_answer", "--model-path", "/run/model",
                        "--model-id", "repro-policy", "--bench-name", "mt_bench", "--max-new-token", "1024",
                        "--dtype", "bfloat16"]
    assert judge == ["/env/bin/python", "-m", "fastchat.llm_judge.gen_judgment", "--bench-name", "mt_bench",
                     "--mode", "single", "--judge-model", "gpt-4", "--model-list", "repro-policy", "--parallel", "3"]


def test_arena_hard_configs_keep_upstream_judge_settings_and_point_at_the_local_policy():
    cfg = ArenaHardSpec(python="p", repo_dir="/r", judge_model="gpt-4.1", serve_port=8123, parallel=2)
    upstream = {"judge_model": "gpt-4-1106-preview", "bench_name": "arena-hard-v0.1", "max_tokens": 4096,
                "regex_patterns": [r"\[\[([AB<>=]+)\]\]"], "prompt_template": "{QUESTION}", "model_list": ["x"]}
    files = arena_hard_configs(cfg, upstream)
    setting = files["arena-hard-v0.1.yaml"]
    assert setting["judge_model"] == "gpt-4.1" and setting["model_list"] == ["repro-policy"]
    assert setting["regex_patterns"] == upstream["regex_patterns"] and setting["prompt_template"] == "{QUESTION}"
    endpoints = files["api_config.yaml"]
    assert endpoints["gpt-4.1"]["endpoints"] is None and endpoints["gpt-4.1"]["parallel"] == 2
    assert endpoints["repro-policy"]["endpoints"][0]["api_base"] == "http://127.0.0.1:8123/v1"
    assert files["gen_answer_config.yaml"] == {"bench_name": "arena-hard-v0.1", "model_list": ["repro-policy"]}


def test_judge_api_base_reaches_both_openai_client_generations():
    env = judge_env("http://judge:9000/v1", {})
    assert env["OPENAI_API_BASE"] == env["OPENAI_BASE_URL"] == "http://judge:9000/v1"
    assert env[JUDGE_KEY_VAR] == "EMPTY"  # a placeholder the clients require, not a secret
    assert judge_env("http://judge:9000/v1", {JUDGE_KEY_VAR: "real"})[JUDGE_KEY_VAR] == "real"


# --- preconditions ------------------------------------------------------------------------------------

def fake_interpreter(tmp_path: Path, modules: dict[str, str]) -> str:
    """An executable that runs this interpreter with `modules` importable (a stand-in for a benchmark's env)."""
    site = tmp_path / "fake_site"
    for dotted, source in modules.items():
        path = site / (dotted.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    exe = tmp_path / "fake_python"
    exe.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe)


def mt_bench_data(root: Path, judge: str = "gpt-4") -> Path:
    write_jsonl(root / "mt_bench" / "question.jsonl",
                [{"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Shorter."]}])
    write_jsonl(root / "judge_prompts.jsonl", [{"name": "single-v1", "type": "single"}])
    write_jsonl(root / "mt_bench" / "reference_answer" / f"{judge}.jsonl", [])
    return root


FAKE_FASTCHAT = {"fastchat.__init__": "", "fastchat.llm_judge.__init__": "", "fastchat.llm_judge.common": "",
                 "fastchat.model.__init__": "",
                 "fastchat.model.model_adapter": "OPENAI_MODEL_LIST = ('gpt-4', 'gpt-4-turbo')\n"
                                                 "ANTHROPIC_MODEL_LIST = ('claude-2',)\n"}


def test_a_complete_mt_bench_setup_has_no_problems(tmp_path):
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, FAKE_FASTCHAT), data_dir=str(mt_bench_data(tmp_path / "d")))
    (tmp_path / "policy").mkdir()
    assert mt_bench_problems(cfg, tmp_path / "policy", {JUDGE_KEY_VAR: SECRET}) == []
    assert mt_bench_problems(cfg.model_copy(update={"judge_api_base": "http://j/v1"}), tmp_path / "policy", {}) == []


def test_missing_judge_key_names_the_variable_and_the_alternative(tmp_path):
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, FAKE_FASTCHAT), data_dir=str(mt_bench_data(tmp_path / "d")))
    (tmp_path / "policy").mkdir()
    [problem] = mt_bench_problems(cfg, tmp_path / "policy", {JUDGE_KEY_VAR: ""})
    assert problem.startswith("OPENAI_API_KEY is not set") and "eval.mt_bench.judge_api_base" in problem


def test_a_judge_fastchat_cannot_call_is_refused_before_any_answer(tmp_path):
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, FAKE_FASTCHAT), data_dir=str(mt_bench_data(tmp_path / "d", "o3")),
                      judge_model="o3", judge_api_base="http://127.0.0.1:9/v1")
    (tmp_path / "policy").mkdir()
    [problem] = mt_bench_problems(cfg, tmp_path / "policy", {})
    assert problem == ("eval.mt_bench.judge_model: FastChat cannot call 'o3' as a judge; it knows gpt-4 gpt-4-turbo "
                       "claude-2 (point judge_api_base at a server that answers to one of those names)")


def test_missing_files_name_the_exact_paths_expected(tmp_path):
    data = tmp_path / "llm_judge" / "data"
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, FAKE_FASTCHAT), data_dir=str(data), judge_model="gpt-4-turbo")
    problems = mt_bench_problems(cfg, tmp_path / "no-policy", {JUDGE_KEY_VAR: SECRET})
    assert problems == [
        f"policy checkpoint not found: expected the folder {tmp_path / 'no-policy'}",
        f"MT-Bench questions (eval.mt_bench.data_dir) not found: expected the file {data}/mt_bench/question.jsonl",
        f"FastChat judge prompts (eval.mt_bench.data_dir) not found: expected the file {data}/judge_prompts.jsonl",
        "reference answers for judge gpt-4-turbo (eval.mt_bench.data_dir) not found: expected the file "
        f"{data}/mt_bench/reference_answer/gpt-4-turbo.jsonl",
    ]


def test_missing_or_unfit_interpreter_is_named(tmp_path):
    data = str(mt_bench_data(tmp_path / "d"))
    (tmp_path / "policy").mkdir()
    [missing] = mt_bench_problems(MtBenchSpec(python="/opt/nowhere/bin/python", data_dir=data), tmp_path / "policy",
                                  {JUDGE_KEY_VAR: SECRET})
    assert missing == "eval.mt_bench.python: the interpreter /opt/nowhere/bin/python does not exist or is not executable"
    bare = fake_interpreter(tmp_path, {})  # runs, but has no fastchat
    [unfit] = mt_bench_problems(MtBenchSpec(python=bare, data_dir=data), tmp_path / "policy", {JUDGE_KEY_VAR: SECRET})
    assert unfit.startswith(f"eval.mt_bench.python: {bare} cannot import fastchat.llm_judge.common (")
    assert "No module named 'fastchat'" in unfit


def test_arena_hard_problems_name_checkout_data_and_both_interpreters(tmp_path):
    repo = tmp_path / "arena-hard-auto"
    cfg = ArenaHardSpec(python="/opt/nowhere/python", repo_dir=str(repo), serve_python="/opt/nowhere/vllm-python")
    problems = arena_hard_problems(cfg, tmp_path / "policy", {})
    assert problems[0].startswith("OPENAI_API_KEY is not set") and "eval.arena_hard.judge_api_base" in problems[0]
    joined = "\n".join(problems)
    for path in (repo / "gen_answer.py", repo / "gen_judgment.py", repo / "config" / "arena-hard-v0.1.yaml",
                 repo / "data" / "arena-hard-v0.1" / "question.jsonl",
                 repo / "data" / "arena-hard-v0.1" / "model_answer" / "gpt-4-0314.jsonl"):
        assert f"expected the file {path}\n" in joined + "\n", path
    assert "eval.arena_hard.python: the interpreter /opt/nowhere/python does not exist" in joined
    assert "eval.arena_hard.serve_python: the interpreter /opt/nowhere/vllm-python does not exist" in joined


def test_main_stops_before_any_work_when_a_precondition_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(JUDGE_KEY_VAR, raising=False)
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, FAKE_FASTCHAT), data_dir=str(mt_bench_data(tmp_path / "d")))
    (tmp_path / "policy").mkdir()
    out = tmp_path / "eval-mt_bench"
    rc = main(["mt_bench", "--policy", str(tmp_path / "policy"), "--config", cfg.model_dump_json(), "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert "mt_bench cannot start:\n  - OPENAI_API_KEY is not set" in capsys.readouterr().err


# --- the runner against stand-ins that honour FastChat's file contract --------------------------------

# Like FastChat's scripts: relative data/ paths, answers under model_answer/, and gen_judgment waiting for
# Enter before it judges (it fails on a closed stdin). The stand-in judge records whether it saw the key.
FAKE_GEN_ANSWER = """
import argparse, json, os
ap = argparse.ArgumentParser(); ap.add_argument('--model-path'); ap.add_argument('--model-id')
ap.add_argument('--bench-name'); ap.add_argument('--max-new-token'); a = ap.parse_args()
assert 'OPENAI_API_KEY' not in os.environ
qs = [json.loads(l) for l in open(f'data/{a.bench_name}/question.jsonl')]
os.makedirs(f'data/{a.bench_name}/model_answer', exist_ok=True)
with open(f'data/{a.bench_name}/model_answer/{a.model_id}.jsonl', 'w') as f:
    for q in qs: f.write(json.dumps({'question_id': q['question_id'], 'model_id': a.model_id}) + '\\n')
"""
FAKE_GEN_JUDGMENT = """
import argparse, json, os
ap = argparse.ArgumentParser(); ap.add_argument('--bench-name'); ap.add_argument('--mode')
ap.add_argument('--judge-model'); ap.add_argument('--model-list', nargs='+'); ap.add_argument('--parallel')
a = ap.parse_args()
input('Press Enter to confirm...')
assert os.environ['OPENAI_API_KEY'] == os.environ['EXPECTED_KEY']
out = f'data/{a.bench_name}/model_judgment/{a.judge_model}_single.jsonl'
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, 'a') as f:
    for row in [(81, 1, 9), (81, 2, 5), (82, 1, -1), (82, 2, 7)]:
        f.write(json.dumps({'question_id': row[0], 'model': a.model_list[0], 'judge': [a.judge_model, 'single-v1'],
                            'score': row[2], 'turn': row[1]}) + '\\n')
"""


def test_run_mt_bench_works_in_a_private_copy_and_parses_the_judgments(tmp_path):
    fake = {**FAKE_FASTCHAT, "fastchat.llm_judge.gen_model_answer": FAKE_GEN_ANSWER,
            "fastchat.llm_judge.gen_judgment": FAKE_GEN_JUDGMENT}
    data = mt_bench_data(tmp_path / "d")
    cfg = MtBenchSpec(python=fake_interpreter(tmp_path, fake), data_dir=str(data))
    environ = {"PATH": "/usr/bin:/bin", JUDGE_KEY_VAR: SECRET, "EXPECTED_KEY": SECRET}
    out = tmp_path / "eval-mt_bench"
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "config.json").write_text("{}")
    for _ in range(2):  # a re-run starts from a fresh copy: judgments are not appended twice
        metrics = run_mt_bench(cfg, tmp_path / "policy", out, environ)
    assert metrics == {"mt_bench/gpt-4/score": 7.0, "mt_bench/gpt-4/turn_1": 9.0, "mt_bench/gpt-4/turn_2": 6.0,
                       "mt_bench/gpt-4/n_judged": 3.0, "mt_bench/gpt-4/n_failed": 1.0}
    assert (out / "bench" / "data" / "mt_bench" / "model_answer" / "repro-policy.jsonl").is_file()
    assert not (data / "mt_bench" / "model_answer").exists()  # the checkout's data folder is left alone


# --- FastChat's own server stack (answers: served) ---------------------------------------------------

def test_transformers4_view_links_every_file_and_rewrites_only_the_tokenizer_class(tmp_path):
    from repro.evals.fastchat_serve import transformers4_view

    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "model.safetensors").write_bytes(b"weights")
    (policy / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "TokenizersBackend", "eos_token": "</s>"}))
    view = transformers4_view(policy, tmp_path / "view")
    transformers4_view(policy, view)  # idempotent: a rerun replaces its own links
    assert sorted(p.name for p in view.iterdir()) == ["model.safetensors", "tokenizer_config.json"]
    assert (view / "model.safetensors").is_symlink() and (view / "model.safetensors").resolve() == policy / "model.safetensors"
    assert json.loads((view / "tokenizer_config.json").read_text()) == {"tokenizer_class": "PreTrainedTokenizerFast",
                                                                       "eos_token": "</s>"}
    assert json.loads((policy / "tokenizer_config.json").read_text())["tokenizer_class"] == "TokenizersBackend"


def test_fastchat_servers_listen_on_loopback_and_point_at_each_other(tmp_path):
    from repro.evals.fastchat_serve import fastchat_servers

    servers, api_base = fastchat_servers("/fc/python", tmp_path / "view", "repro-policy", "cpu", "raw", tmp_path)
    controller, worker, api = (s.argv for s in servers)
    assert [a[2] for a in (controller, worker, api)] == ["fastchat.serve.controller", "fastchat.serve.model_worker",
                                                         "fastchat.serve.openai_api_server"]
    for argv in (controller, worker, api):
        assert argv[argv.index("--host") + 1] == "127.0.0.1"
    controller_url = f"http://127.0.0.1:{controller[controller.index('--port') + 1]}"
    assert worker[worker.index("--controller-address") + 1] == api[api.index("--controller-address") + 1] == controller_url
    assert worker[worker.index("--worker-address") + 1] == f"http://127.0.0.1:{worker[worker.index('--port') + 1]}"
    assert api_base == f"http://127.0.0.1:{api[api.index('--port') + 1]}/v1"
    assert worker[-4:] == ["--device", "cpu", "--conv-template", "raw"]


def test_served_answers_come_from_gen_api_answer_without_the_judge_key(tmp_path):
    from repro.evals.judge_bench_run import answer_env

    cfg = MtBenchSpec(python="/fc/python", data_dir="d", answers="served", device="cpu", max_new_token=24)
    generate, judge = mt_bench_commands(cfg, tmp_path, "http://127.0.0.1:5/v1")
    assert generate == ["/fc/python", "-m", "fastchat.llm_judge.gen_api_answer", "--model", "repro-policy",
                        "--openai-api-base", "http://127.0.0.1:5/v1", "--bench-name", "mt_bench", "--max-tokens", "24",
                        "--parallel", "4"]
    assert judge[2] == "fastchat.llm_judge.gen_judgment"
    assert answer_env({JUDGE_KEY_VAR: SECRET, "PATH": "/bin"}) == {JUDGE_KEY_VAR: "EMPTY", "PATH": "/bin"}
    with pytest.raises(ValueError, match="answers: served"):
        MtBenchSpec(python="p", data_dir="d", device="cpu")

"""Run MT-Bench or Arena-Hard with the benchmark's own scripts in its own Python environment, then parse
its judgments into report.json.

Run as a stage by the harness's interpreter:
    python -m repro.evals.judge_bench_run mt_bench|arena_hard --policy DIR --config JSON --out DIR
Every precondition (judge key, data files, interpreters) is checked before any work starts, and all
failures are reported at once. The benchmark's scripts read and write relative 'data/...' paths, so
each run works in a private copy of the inputs under <out>/bench/: nothing is written into the
benchmark's checkout, and answers or judgments of an earlier run never leak into this one.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from repro.evals.arena_hard import ArenaHardSpec, arena_hard_data_dir
from repro.evals.fastchat_serve import fastchat_servers, lists_model, transformers4_view
from repro.evals.judge_bench import arena_hard_metrics, mt_bench_metrics
from repro.evals.judge_key import (JUDGE_KEY_VAR, PLACEHOLDER_KEY, judge_env, judge_key_problem,  # noqa: F401
                                     without_judge_key)
from repro.evals.mt_bench import MtBenchSpec
from repro.evals.serving import Server, serving
from repro.store import atomic_write_json, read_jsonl

# What each environment must import to run its benchmark's scripts (checked before any work).
FASTCHAT_IMPORTS = "fastchat.llm_judge.common"
ARENA_HARD_IMPORTS = "utils.completion, openai, tiktoken"  # utils/ of the checkout: run with cwd=repo_dir
VLLM_IMPORTS = "vllm"


# --- preconditions ----------------------------------------------------------------------------------

def missing_file_problems(files: Mapping[str, Path]) -> list[str]:
    return [f"{what} not found: expected the file {path}" for what, path in files.items() if not path.is_file()]


def interpreter_problem(python: str, imports: str, recipe_key: str, cwd: Path | None = None) -> str | None:
    exe = shutil.which(python)
    if exe is None:
        return f"{recipe_key}: the interpreter {python} does not exist or is not executable"
    if cwd is not None and not cwd.is_dir():
        return None  # the missing checkout is reported on its own
    proc = subprocess.run([exe, "-c", f"import {imports}"], cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode:
        why = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        return f"{recipe_key}: {python} cannot import {imports} ({why})"
    return None


def policy_problem(policy: Path) -> str | None:
    return None if policy.is_dir() else f"policy checkpoint not found: expected the folder {policy}"


def mt_bench_problems(cfg: MtBenchSpec, policy: Path, environ: Mapping[str, str]) -> list[str]:
    data = Path(cfg.data_dir)
    problems = [judge_key_problem("eval.mt_bench", cfg.judge_model, cfg.judge_api_base, environ), policy_problem(policy)]
    problems += missing_file_problems({
        "MT-Bench questions (eval.mt_bench.data_dir)": data / "mt_bench" / "question.jsonl",
        "FastChat judge prompts (eval.mt_bench.data_dir)": data / "judge_prompts.jsonl",
        # gen_judgment.py looks reference answers up by the judge's name.
        f"reference answers for judge {cfg.judge_model} (eval.mt_bench.data_dir)":
            data / "mt_bench" / "reference_answer" / f"{cfg.judge_model}.jsonl",
    })
    problems.append(interpreter_problem(cfg.python, FASTCHAT_IMPORTS, "eval.mt_bench.python")
                    or fastchat_judge_problem(cfg))
    return [p for p in problems if p]


def fastchat_judge_problem(cfg: MtBenchSpec) -> str | None:
    """gen_judgment.py calls only the judges FastChat lists (and fails after every answer was generated)."""
    code = ("import sys; from fastchat.model.model_adapter import OPENAI_MODEL_LIST as O, ANTHROPIC_MODEL_LIST as A; "
            "print(' '.join(O + A)); sys.exit(sys.argv[1] not in O + A)")
    proc = subprocess.run([cfg.python, "-c", code, cfg.judge_model], capture_output=True, text=True, timeout=600)
    if proc.returncode == 1:
        return (f"eval.mt_bench.judge_model: FastChat cannot call '{cfg.judge_model}' as a judge; it knows "
                f"{proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'no judges'} (point "
                "judge_api_base at a server that answers to one of those names)")
    return None


def arena_hard_problems(cfg: ArenaHardSpec, policy: Path, environ: Mapping[str, str]) -> list[str]:
    repo, data = Path(cfg.repo_dir), arena_hard_data_dir(cfg) / cfg.bench_name
    problems = [judge_key_problem("eval.arena_hard", cfg.judge_model, cfg.judge_api_base, environ), policy_problem(policy)]
    problems += missing_file_problems({
        "arena-hard-auto's gen_answer.py (eval.arena_hard.repo_dir)": repo / "gen_answer.py",
        "arena-hard-auto's gen_judgment.py (eval.arena_hard.repo_dir)": repo / "gen_judgment.py",
        f"judge settings of {cfg.bench_name} (eval.arena_hard.repo_dir)": repo / "config" / f"{cfg.bench_name}.yaml",
        f"{cfg.bench_name} questions (eval.arena_hard.data_dir)": data / "question.jsonl",
        f"answers of the baseline {cfg.baseline_model} (eval.arena_hard.data_dir)":
            data / "model_answer" / f"{cfg.baseline_model}.jsonl",
    })
    problems.append(interpreter_problem(cfg.python, ARENA_HARD_IMPORTS, "eval.arena_hard.python", cwd=repo))
    if cfg.serve_python and cfg.serve_python != cfg.python:
        problems.append(interpreter_problem(cfg.serve_python, VLLM_IMPORTS, "eval.arena_hard.serve_python"))
    else:
        problems.append(interpreter_problem(cfg.python, VLLM_IMPORTS, "eval.arena_hard.python (serves the policy)"))
    return [p for p in problems if p]


# --- environments and command lines -----------------------------------------------------------------

def mt_bench_commands(cfg: MtBenchSpec, policy: Path, api_base: str | None = None) -> tuple[list[str], list[str]]:
    """FastChat's answer generation and single-answer grading (python -m fastchat.llm_judge....). With
    api_base (answers: served), answers come from gen_api_answer.py asking FastChat's server there."""
    if api_base is None:
        generate = [cfg.python, "-m", "fastchat.llm_judge.gen_model_answer", "--model-path", str(policy),
                    "--model-id", cfg.model_id, "--bench-name", "mt_bench", "--max-new-token", str(cfg.max_new_token)]
        if cfg.dtype:
            generate += ["--dtype", cfg.dtype]
    else:
        generate = [cfg.python, "-m", "fastchat.llm_judge.gen_api_answer", "--model", cfg.model_id,
                    "--openai-api-base", api_base, "--bench-name", "mt_bench", "--max-tokens", str(cfg.max_new_token),
                    "--parallel", str(cfg.parallel)]
    judge = [cfg.python, "-m", "fastchat.llm_judge.gen_judgment", "--bench-name", "mt_bench", "--mode", "single",
             "--judge-model", cfg.judge_model, "--model-list", cfg.model_id, "--parallel", str(cfg.parallel)]
    return generate, judge


def arena_hard_configs(cfg: ArenaHardSpec, upstream_setting: dict) -> dict[str, dict]:
    """The three YAML files gen_answer.py and gen_judgment.py read, by file name.

    The judge settings are the checkout's own config/<bench_name>.yaml (prompt template, verdict
    patterns) with only the judge and the model list replaced. The judge's endpoint is 'null', so
    the openai client takes the key (and OPENAI_BASE_URL) from the environment, never from a file."""
    setting = {**upstream_setting, "judge_model": cfg.judge_model, "model_list": [cfg.model_id]}
    endpoints = {
        cfg.judge_model: {"model": cfg.judge_model, "endpoints": None, "api_type": "openai",
                          "parallel": cfg.parallel, "max_tokens": setting.get("max_tokens", 4096), "temperature": 0.0},
        cfg.model_id: {"model": cfg.model_id, "api_type": "openai", "parallel": cfg.parallel,
                       "max_tokens": cfg.max_tokens, "temperature": 0.0,
                       "endpoints": [{"api_base": f"http://127.0.0.1:{cfg.serve_port}/v1", "api_key": PLACEHOLDER_KEY}]},
    }
    answer = {"bench_name": cfg.bench_name, "model_list": [cfg.model_id]}
    return {f"{cfg.bench_name}.yaml": setting, "api_config.yaml": endpoints, "gen_answer_config.yaml": answer}


def arena_hard_commands(cfg: ArenaHardSpec, config_dir: Path) -> tuple[list[str], list[str]]:
    repo, endpoints = Path(cfg.repo_dir), str(config_dir / "api_config.yaml")
    generate = [cfg.python, str(repo / "gen_answer.py"),
                "--config-file", str(config_dir / "gen_answer_config.yaml"), "--endpoint-file", endpoints]
    judge = [cfg.python, str(repo / "gen_judgment.py"),
             "--setting-file", str(config_dir / f"{cfg.bench_name}.yaml"), "--endpoint-file", endpoints]
    return generate, judge


def vllm_server_command(cfg: ArenaHardSpec, policy: Path) -> list[str]:
    argv = [cfg.serve_python or cfg.python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(policy),
            "--served-model-name", cfg.model_id, "--host", "127.0.0.1", "--port", str(cfg.serve_port)]
    return argv + (["--chat-template", cfg.chat_template] if cfg.chat_template else [])


# --- running ----------------------------------------------------------------------------------------

def run_tool(argv: list[str], cwd: Path, env: Mapping[str, str], stdin_text: str | None = None) -> None:
    print("+", shlex.join(argv), flush=True)  # argv never holds the key
    subprocess.run(argv, cwd=cwd, env=dict(env), input=stdin_text, text=True, check=True)


def fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def served_policy(cfg: ArenaHardSpec, policy: Path, out: Path, environ: Mapping[str, str]):
    """vLLM's OpenAI-compatible server for the policy while gen_answer.py runs (arena-hard-auto's README
    route for local models)."""
    server = Server("the vLLM server", vllm_server_command(cfg, policy), out / "vllm_server.log")
    return serving([server], f"http://127.0.0.1:{cfg.serve_port}/v1/models", cfg.serve_timeout_s,
                   without_judge_key(environ))


def answer_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Answer generation never sees the judge's key; FastChat's openai<1 client still wants some key to
    talk to the local policy server, so it gets the placeholder."""
    return {**without_judge_key(environ), JUDGE_KEY_VAR: PLACEHOLDER_KEY}


def run_mt_bench(cfg: MtBenchSpec, policy: Path, out: Path, environ: Mapping[str, str]) -> dict[str, float]:
    src, bench = Path(cfg.data_dir), fresh_folder(out / "bench")
    data = bench / "data" / "mt_bench"
    data.mkdir(parents=True)
    shutil.copy(src / "mt_bench" / "question.jsonl", data / "question.jsonl")
    shutil.copytree(src / "mt_bench" / "reference_answer", data / "reference_answer")
    shutil.copy(src / "judge_prompts.jsonl", bench / "data" / "judge_prompts.jsonl")
    view = transformers4_view(policy, out / "policy_view")
    if cfg.answers == "served":
        servers, api_base = fastchat_servers(cfg.python, view, cfg.model_id, cfg.device, cfg.conv_template, out)
        generate, judge = mt_bench_commands(cfg, view, api_base)
        # FastChat's servers write their own log files into $LOGDIR (default: the working directory).
        server_env = {**without_judge_key(environ), "LOGDIR": str(out / "fastchat_logs")}
        with serving(servers, f"{api_base}/models", cfg.serve_timeout_s, server_env, is_ready=lists_model(cfg.model_id)):
            run_tool(generate, bench, answer_env(environ))
    else:
        generate, judge = mt_bench_commands(cfg, view)
        run_tool(generate, bench, without_judge_key(environ))
    # gen_judgment.py waits for Enter after printing its match statistics; the newline answers it.
    run_tool(judge, bench, judge_env(cfg.judge_api_base, environ), stdin_text="\n")
    judgments = data / "model_judgment" / f"{cfg.judge_model}_single.jsonl"
    return mt_bench_metrics(read_jsonl(judgments), cfg.model_id, cfg.judge_model)


def run_arena_hard(cfg: ArenaHardSpec, policy: Path, out: Path, environ: Mapping[str, str]) -> dict[str, float]:
    src, bench = arena_hard_data_dir(cfg) / cfg.bench_name, fresh_folder(out / "bench")
    data = bench / "data" / cfg.bench_name
    (data / "model_answer").mkdir(parents=True)
    shutil.copy(src / "question.jsonl", data / "question.jsonl")
    baseline_answers = f"{cfg.baseline_model}.jsonl"
    shutil.copy(src / "model_answer" / baseline_answers, data / "model_answer" / baseline_answers)
    upstream = yaml.safe_load((Path(cfg.repo_dir) / "config" / f"{cfg.bench_name}.yaml").read_text())
    config_dir = bench / "config"
    config_dir.mkdir()
    for name, content in arena_hard_configs(cfg, upstream).items():
        (config_dir / name).write_text(yaml.safe_dump(content, sort_keys=False))
    generate, judge = arena_hard_commands(cfg, config_dir)
    with served_policy(cfg, policy, out, environ):
        run_tool(generate, bench, without_judge_key(environ))
    run_tool(judge, bench, judge_env(cfg.judge_api_base, environ))
    judgments = data / "model_judgment" / cfg.judge_model / f"{cfg.model_id}.jsonl"
    return arena_hard_metrics(read_jsonl(judgments), cfg.model_id, cfg.judge_model, cfg.baseline_model)


BENCHMARKS = {
    "mt_bench": (MtBenchSpec, mt_bench_problems, run_mt_bench),
    "arena_hard": (ArenaHardSpec, arena_hard_problems, run_arena_hard),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("benchmark", choices=sorted(BENCHMARKS))
    ap.add_argument("--policy", type=Path, required=True)
    ap.add_argument("--config", required=True, help="the recipe's eval.<benchmark> section as JSON")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    spec_model, problems_of, run = BENCHMARKS[args.benchmark]
    cfg = spec_model.model_validate_json(args.config)
    problems = problems_of(cfg, args.policy, os.environ)
    if problems:
        print(f"{args.benchmark} cannot start:\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return 2
    try:
        metrics = run(cfg, args.policy, args.out, os.environ)
    except subprocess.CalledProcessError as e:
        print(f"{args.benchmark}: {shlex.join(e.cmd)} exited with {e.returncode}", file=sys.stderr)
        return 1
    if not any(v > 0 for k, v in metrics.items() if k.endswith(("/n_judged", "/n_games"))):
        print(f"{args.benchmark}: the judge produced no usable verdicts: {metrics}", file=sys.stderr)
        return 1
    judge = {"benchmark": args.benchmark, "judge_model": cfg.judge_model, "judge_api_base": cfg.judge_api_base,
             "model_id": cfg.model_id, "baseline_model": getattr(cfg, "baseline_model", None)}
    atomic_write_json(args.out / "report.json", {"metrics": metrics, "judge": judge})
    print(metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`repro run --method dpo --recipe imdb/evals` end to end: gold, lm-eval and AlpacaEval stages on CPU."""

import json
import math
import os
from pathlib import Path

import pytest

from tests.integration.test_dpo_pipeline import repro

pytestmark = pytest.mark.integration
JUDGE_KEY = "alpaca_eval/gold_judge"


@pytest.fixture(scope="module")
def evals_root(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def evals_run(evals_root):
    root = evals_root
    repro("run", "--method", "dpo", "--recipe", "imdb/evals", root=root)
    (record_path,) = (root / "runs").glob("imdb-evals-dpo-*/record.json")
    rec = json.loads(record_path.read_text())
    return rec, {s["name"]: s for s in rec["stages"]}


def test_all_eval_stages_completed(evals_run):
    rec, stages = evals_run
    assert rec["status"] == "completed"
    assert [n for n in stages if n.startswith("eval-")] == ["eval-gold", "eval-lm_eval", "eval-alpaca_eval",
                                                            "eval-alpaca_eval_rm"]
    assert {"pairs", "rm", "rm-accuracy"} <= set(stages)  # the RM judge is the shared reward model
    assert all(stages[n]["status"] == "completed" for n in stages)


def test_lm_eval_metrics_and_raw_results(evals_run):
    rec, stages = evals_run
    m = rec["metrics"]
    for key in ("lm_eval/imdb_sentiment_mc/acc", "lm_eval/imdb_sentiment_mc/acc_norm",
                "lm_eval/imdb_continuation/gold_positive"):
        assert 0.0 <= m[key] <= 1.0, key
        assert math.isfinite(m[key + "_stderr"]), key
    assert m["lm_eval/imdb_sentiment_mc/sample_len"] == 32
    assert not any("," in k for k in m)
    raw = json.loads((Path(stages["eval-lm_eval"]["workdir"]) / "lm_eval_results.json").read_text())
    assert set(raw["results"]) == {"imdb_sentiment_mc", "imdb_continuation"}
    assert "acc,none" in raw["results"]["imdb_sentiment_mc"]


def test_alpaca_eval_metrics(evals_run):
    rec, stages = evals_run
    m = rec["metrics"]
    assert 0.0 <= m[f"{JUDGE_KEY}/win_rate"] <= 100.0 and m[f"{JUDGE_KEY}/n_total"] == 32
    assert m[f"{JUDGE_KEY}/standard_error"] > 0
    annotations = json.loads((Path(stages["eval-alpaca_eval"]["workdir"]) / "alpaca_eval" / "annotations.json").read_text())
    assert len(annotations) == 32 and {a["preference"] for a in annotations} <= {1.0, 1.5, 2.0}


def test_gold_judge_prefers_the_positive_policy(evals_run, tmp_path):
    from repro.evals.alpaca_eval_run import judged_win_rate
    from repro.worlds.imdb.gold import GoldReward

    _, stages = evals_run
    gold = GoldReward.load(Path(stages["world"]["workdir"]) / "gold")
    prompts = [f"I watched movie number {i} last night and" for i in range(16)]
    pos = [" it was wonderful, brilliant and moving. A great film, I loved every minute."] * 16
    neg = [" it was awful, boring and stupid. The worst film ever, a total waste of time."] * 16
    up = judged_win_rate(prompts, pos, neg, gold.score, tmp_path / "up")["gold_judge/win_rate"]
    down = judged_win_rate(prompts, neg, pos, gold.score, tmp_path / "down")["gold_judge/win_rate"]
    assert up > 50 > down


RM_KEY = "alpaca_eval/rm_judge"


def test_reward_model_judge_metrics_and_preferences(evals_run, tmp_path):
    rec, stages = evals_run
    m = rec["metrics"]
    assert 0.0 <= m[f"{RM_KEY}/win_rate"] <= 100.0 and m[f"{RM_KEY}/n_total"] == 32
    assert m[f"{RM_KEY}/win_rate"] != m[f"{JUDGE_KEY}/win_rate"]  # a different judge, its own key
    # The RM judge, run through alpaca-eval on the held-out pairs, prefers chosen over rejected
    # exactly as often as the RM's own pair accuracy says (no ties at float precision).
    code = f"""
import json, sys
from repro.cpu.run import install_shims
install_shims()
from pathlib import Path
from repro.evals.alpaca_eval_run import RM_JUDGE, judged_win_rate, reward_model_scorer
from repro.store import read_jsonl
pairs = read_jsonl(Path({str(Path(stages["pairs"]["workdir"]) / "pairs_test.jsonl")!r}))
scorer = reward_model_scorer(Path({str(Path(stages["rm"]["workdir"]) / "model")!r}))
up = judged_win_rate([p["prompt"] for p in pairs], [p["chosen"] for p in pairs], [p["rejected"] for p in pairs],
                     scorer, Path({str(tmp_path)!r}), judge=RM_JUDGE)
print(json.dumps(up))
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    up = json.loads(out.stdout.strip().splitlines()[-1])
    assert up["rm_judge/win_rate"] == pytest.approx(100 * m["rm/pair_accuracy"], abs=0.01)
    assert up["rm_judge/win_rate"] > 50


# --- AlpacaEval with an API judge: alpaca-eval's stock annotator over HTTP --------------------------

SECRET = "sk-judge-key-that-must-stay-out-of-files-0451"
STOCK = "weighted_alpaca_eval_gpt4_turbo"


@pytest.fixture(scope="module")
def api_judged(evals_run, evals_root):
    """The DPO policy evaluated by `repro eval` twice through an OpenAI-compatible endpoint that judges by the
    gold reward: once named in the recipe (judge_api_base, a local judge), once as the stock GPT-4 Turbo
    annotator whose client finds the endpoint through OPENAI_BASE_URL, as it would find api.openai.com."""
    from repro.worlds.imdb.gold import GoldReward
    from tests.integration.judge_endpoint import JudgeEndpoint

    _, stages = evals_run
    gold = GoldReward.load(Path(stages["world"]["workdir"]) / "gold")
    policy = str(Path(stages["dpo"]["workdir"]) / "model")
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    env.pop("OPENAI_BASE_URL", None)
    with JudgeEndpoint(gold.score) as judge:
        repro("eval", "--model", policy, "--recipe", "imdb/evals", "--name", "dpo-local-judge",
              "eval.evaluators=[alpaca_eval_api]", f"eval.alpaca_eval_api.judge_api_base={judge.api_base}",
              "eval.alpaca_eval_api.judge_model=/models/gold-judge", root=evals_root, env=env)
        local_requests = list(judge.requests)
        judge.requests.clear()
        repro("eval", "--model", policy, "--recipe", "imdb/evals", "--name", "dpo-stock-judge",
              "eval.evaluators=[alpaca_eval_api]", "eval.alpaca_eval_api={}", root=evals_root,
              env={**env, "OPENAI_BASE_URL": judge.api_base})
        stock_requests = list(judge.requests)
    records = {}
    for path in (evals_root / "runs").glob("*/record.json"):
        rec = json.loads(path.read_text())
        records[rec["method"]] = rec
    return records, local_requests, stock_requests


def test_api_judge_is_called_with_the_key_from_the_environment(api_judged):
    _, local, stock = api_judged
    assert len(local) == len(stock) == 32
    assert {r["path"] for r in local + stock} == {"/v1/chat/completions"}
    assert {r["model"] for r in local} == {"/models/gold-judge"}
    assert {r["model"] for r in stock} == {"gpt-4-1106-preview"}  # the stock annotator's own judge
    assert {r["authorization"] for r in local + stock} == {f"Bearer {SECRET}"}


def test_api_judge_metrics_are_recorded_under_their_judges_names(api_judged):
    records, _, _ = api_judged
    gold = records["dpo"]["metrics"]
    for method, judge in (("dpo-local-judge", f"{STOCK}@gold-judge"), ("dpo-stock-judge", STOCK)):
        rec = records[method]
        assert rec["status"] == "completed"
        m = {k: v for k, v in rec["metrics"].items() if k.startswith("alpaca_eval/")}
        key = f"alpaca_eval/{judge}"
        assert 0 < m[f"{key}/win_rate"] < 100 and m[f"{key}/standard_error"] > 0
        assert m[f"{key}/n_total"] == 32 and m[f"{key}/n_failed"] == 0 and m[f"{key}/avg_length"] > 0
        # Same policy and reference samples as the in-process gold judge (shared sampling streams), and an
        # endpoint that prefers what gold prefers: alpaca-eval's parsed verdicts agree with it one for one.
        assert m[f"{key}/discrete_win_rate"] == pytest.approx(gold[f"{JUDGE_KEY}/win_rate"], abs=1e-9)


def files_holding_the_key(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000
            and SECRET.encode() in p.read_bytes()]


def test_api_judge_key_stays_out_of_every_file(api_judged, evals_root):
    assert files_holding_the_key(evals_root) == []


# --- MT-Bench through FastChat's own code (fschat 0.2.36 in its own environment) --------------------

MT_QUESTIONS = [  # MT-Bench's format; IMDB-like openings so the smoke policy has something to continue
    {"question_id": 81, "category": "writing", "turns": ["this movie was one of the", "the acting was"]},
    {"question_id": 82, "category": "roleplay", "turns": ["i watched this film and", "the ending"]},
    {"question_id": 111, "category": "math", "turns": ["the plot of this movie", "and the music"]},
]


def mt_bench_data_dir(root: Path) -> Path:
    """questions, FastChat-format judge prompts (written here: the fschat wheel ships none) and the math
    question's reference answer, laid out as FastChat's llm_judge/data."""
    from tests.integration.judge_endpoint import ANSWER_END, ANSWER_START, TURN_2

    data = root / "llm_judge_data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    (data / "mt_bench" / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in MT_QUESTIONS))
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(
        {"question_id": 111, "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["a great plot", "good"]}]}) + "\n")
    graded = ANSWER_START + "{answer}" + ANSWER_END
    templates = {
        "single-v1": "[Question]\n{question}\n\n" + graded,
        "single-math-v1": "[Question]\n{question}\n[Reference]\n{ref_answer_1}\n\n" + graded,
        "single-v1-multi-turn": f"{TURN_2}\n{{question_1}}\n{{answer_1}}\n{{question_2}}\n\n" + graded.replace(
            "{answer}", "{answer_2}"),
        "single-math-v1-multi-turn": f"{TURN_2}\n{{question_1}}\n{{answer_1}}\n{{ref_answer_1}}\n{{question_2}}\n"
                                     "{ref_answer_2}\n\n" + graded.replace("{answer}", "{answer_2}"),
    }
    (data / "judge_prompts.jsonl").write_text("".join(json.dumps({
        "name": name, "type": "single", "system_prompt": "Rate the answer from 1 to 10.", "prompt_template": text,
        "description": "test judge prompt", "category": "math" if "math" in name else "general",
        "output_format": "[[rating]]"}) + "\n" for name, text in templates.items()))
    return data


@pytest.fixture(scope="module")
def mt_bench_judged(evals_run, evals_root, tmp_path_factory):
    """The DPO policy through FastChat's real MT-Bench path: `make fastchat-env` builds its environment,
    FastChat's controller, model worker and API server serve the policy on CPU, FastChat's gen_api_answer.py
    answers, and its gen_judgment.py grades through an OpenAI-compatible endpoint that rates by gold reward."""
    import subprocess

    from repro.worlds.imdb.gold import GoldReward
    from tests.conftest import REPO
    from tests.integration.judge_endpoint import MtBenchJudgeEndpoint

    build = subprocess.run(["make", "-s", "fastchat-env"], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    _, stages = evals_run
    gold = GoldReward.load(Path(stages["world"]["workdir"]) / "gold")
    data = mt_bench_data_dir(tmp_path_factory.mktemp("fastchat"))
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    with MtBenchJudgeEndpoint(gold.score) as judge:
        repro("eval", "--model", str(Path(stages["dpo"]["workdir"]) / "model"), "--recipe", "imdb/evals",
              "--name", "dpo-mt-bench", "eval.evaluators=[mt_bench]",
              f"eval.mt_bench.python={REPO / '.venv-fastchat' / 'bin' / 'python'}", f"eval.mt_bench.data_dir={data}",
              f"eval.mt_bench.judge_api_base={judge.api_base}", "eval.mt_bench.answers=served",
              "eval.mt_bench.device=cpu", "eval.mt_bench.conv_template=raw", "eval.mt_bench.max_new_token=16",
              "eval.mt_bench.parallel=2", root=evals_root, env=env)
    (rec,) = [r for r in map(json.loads, (p.read_text() for p in (evals_root / "runs").glob("*/record.json")))
              if r["method"] == "dpo-mt-bench"]
    return rec, judge


def test_mt_bench_scores_are_fastchats_own_judgments(mt_bench_judged):
    rec, judge = mt_bench_judged
    assert rec["status"] == "completed", rec
    m = {k: v for k, v in rec["metrics"].items() if k.startswith("mt_bench/")}
    ratings = [r for _, _, r in judge.graded]
    assert len(judge.graded) == 6 and {t for t, _, _ in judge.graded} == {1, 2}  # 3 questions x 2 turns
    assert m["mt_bench/gpt-4/n_judged"] == 6 and m["mt_bench/gpt-4/n_failed"] == 0
    assert m["mt_bench/gpt-4/score"] == pytest.approx(sum(ratings) / 6)
    for turn in (1, 2):
        mine = [r for t, _, r in judge.graded if t == turn]
        assert m[f"mt_bench/gpt-4/turn_{turn}"] == pytest.approx(sum(mine) / len(mine))
    assert {r["model"] for r in judge.requests} == {"gpt-4"}
    assert {r["authorization"] for r in judge.requests} == {f"Bearer {SECRET}"}


def test_mt_bench_answers_are_the_served_policys_and_reach_the_judge(mt_bench_judged):
    rec, judge = mt_bench_judged
    stage = next(s for s in rec["stages"] if s["name"] == "eval-mt_bench")
    bench = Path(stage["workdir"]) / "bench" / "data" / "mt_bench"
    answers = [json.loads(line) for line in (bench / "model_answer" / "repro-policy.jsonl").read_text().splitlines()]
    assert sorted(a["question_id"] for a in answers) == [81, 82, 111]
    turns = [a["choices"][0]["turns"] for a in answers]
    assert all(len(t) == 2 for t in turns)
    assert sorted(t[0] for t in turns) == sorted(a for turn, a, _ in judge.graded if turn == 1)
    assert sorted(t[1] for t in turns) == sorted(a for turn, a, _ in judge.graded if turn == 2)
    judgments = [json.loads(line) for line in (bench / "model_judgment" / "gpt-4_single.jsonl").read_text().splitlines()]
    assert len(judgments) == 6
    logs = Path(stage["workdir"])
    assert "Uvicorn running on http://127.0.0.1:" in (logs / "fastchat_api_server.log").read_text()
    assert "Register to controller" in (logs / "fastchat_model_worker.log").read_text()
    assert [pid for pid, argv in process_cmdlines() if str(logs / "policy_view").encode() in argv] == []


def process_cmdlines():
    """(pid, argv bytes) of every live process: a FastChat server still holding the policy view outlived its stage."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                yield int(proc.name), (proc / "cmdline").read_bytes()
            except OSError:  # exited while we looked
                continue


def test_mt_bench_judge_key_stays_out_of_every_file(mt_bench_judged, evals_root):
    assert files_holding_the_key(evals_root) == []

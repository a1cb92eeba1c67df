"""`repro run --method dpo --recipe imdb/evals` end to end: gold, lm-eval and AlpacaEval stages on CPU."""

import json
import math
from pathlib import Path

import pytest

from tests.integration.test_dpo_pipeline import repro

pytestmark = pytest.mark.integration
JUDGE_KEY = "alpaca_eval/gold_judge"


@pytest.fixture(scope="module")
def evals_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
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

"""`repro run --method dpo` end to end on the smoke recipe: real OpenRLHF SFT and DPO on CPU."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPRO = [sys.executable, "-m", "repro.cli"]


def repro(*args: str, root: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**(os.environ if env is None else env), "REPRO_RESULTS": str(root)}
    proc = subprocess.run([*REPRO, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        pytest.fail(f"repro {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def dpo_run(dpo_smoke_run):
    return dpo_smoke_run


def load_weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    (path,) = model_dir.glob("*.safetensors")
    return load_file(path)


def test_record_is_complete(dpo_run):
    _, rec = dpo_run
    assert rec["status"] == "completed" and rec["schema_version"] == 1
    assert [s["name"] for s in rec["stages"]] == ["world", "sft", "pairs", "dpo", "eval-gold"]
    for s in rec["stages"]:
        m = s["metrics"]
        assert s["status"] == "completed" and m["device"] == "cpu" and m["wall_s"] > 0 and m["peak_rss_mib"] > 100
    assert set(rec["fingerprints"]) == {"base_model", "data", "preference_data"}
    assert rec["env"]["packages"]["openrlhf"] == "0.11.2" and "sha" in rec["env"]["git"]
    assert rec["spec"]["setting"] == "imdb-smoke"


def test_losses_finite_and_sft_loss_falls(dpo_run):
    _, rec = dpo_run
    sft = {s["name"]: s for s in rec["stages"]}["sft"]["train"]["train/loss_mean"]
    assert sft["all_finite"] and sft["last"] < sft["first"] - 0.3
    dpo = {s["name"]: s for s in rec["stages"]}["dpo"]["train"]["train/loss_mean"]
    assert dpo["all_finite"] and dpo["n"] >= 2


def test_dpo_changed_the_sft_weights(dpo_run):
    root, rec = dpo_run
    stages = {s["name"]: s for s in rec["stages"]}
    sft = load_weights(Path(stages["sft"]["workdir"]) / "model")
    dpo = load_weights(Path(stages["dpo"]["workdir"]) / "model")
    base = load_weights(Path(stages["world"]["workdir"]) / "base_model")
    assert sft.keys() == dpo.keys()
    assert any(not (sft[k].float() == dpo[k].float()).all() for k in sft)
    assert any(not (sft[k].float() == base[k].float()).all() for k in sft.keys() & base.keys())


def test_gold_metrics_have_keys_and_ranges(dpo_run):
    _, rec = dpo_run
    m = rec["metrics"]
    for key in ("gold/reward_mean", "gold/sft_reward_mean", "gold/win_rate_vs_sft"):
        assert 0.0 <= m[key] <= 1.0, key
    assert math.isfinite(m["gold/kl_to_sft"]) and m["gold/reward_stderr"] > 0
    assert 0 < m["gold/response_tokens_mean"] <= 24


def test_status_shows_stages_with_time_and_memory(dpo_run):
    root, rec = dpo_run
    out = repro("status", rec["run_id"], root=root).stdout
    assert "peak RSS MiB" in out and "dpo" in out and "sft (shared)" in out and "completed" in out


def test_rerun_skips_everything_and_sft_method_reuses_shared_stages(dpo_run):
    root, rec = dpo_run
    again = repro("run", "--method", "dpo", "--recipe", "imdb/smoke", root=root)
    assert again.stderr.count("skipped") == 5
    sft_run = repro("run", "--method", "sft", "--recipe", "imdb/smoke", root=root)
    assert "world: unchanged" in sft_run.stderr and "sft: unchanged" in sft_run.stderr
    (sft_rec,) = (root / "runs").glob("imdb-smoke-sft-*/record.json")
    sft_rec = json.loads(sft_rec.read_text())
    assert sft_rec["fingerprints"]["base_model"] == rec["fingerprints"]["base_model"]
    assert sft_rec["metrics"]["gold/kl_to_sft"] == pytest.approx(0.0, abs=1e-4)


def test_unknown_method_exits_nonzero_and_keeps_records(dpo_run):
    root, rec = dpo_run
    bad = repro("run", "--method", "dpoo", "--recipe", "imdb/smoke", root=root, check=False)
    assert bad.returncode == 2 and "Did you mean 'dpo'" in bad.stderr
    assert json.loads(Path(root / "runs" / rec["run_id"] / "record.json").read_text())["status"] == "completed"


def test_tables_from_real_records(dpo_run, tmp_path):
    root, rec = dpo_run
    repro("run", "--method", "sft", "--recipe", "imdb/smoke", root=root)  # reuses shared stages
    out = tmp_path / "tables"
    args = ["tables", "--recipe", "imdb/smoke", "--out", str(out)]
    repro(*args, *[x for f in ("md", "tex", "csv", "png") for x in ("--format", f)], root=root)
    scores = (out / "scores-imdb-smoke.md").read_text()
    assert "| dpo | 1 |" in scores and "| sft | 1 |" in scores and "fingerprints: base_model" in scores
    assert (out / "efficiency-imdb-smoke-cpu.tex").read_text().startswith(r"\begin{table}")
    assert (out / "paper-table3.csv").exists()
    for png in ("imdb-smoke-cpu-reward-vs-kl.png", "imdb-smoke-cpu-efficiency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_only_run_of_a_checkpoint_reproduces_the_methods_own_scores(dpo_run, tmp_path):
    root, rec = dpo_run
    policy = Path({s["name"]: s for s in rec["stages"]}["dpo"]["workdir"]) / "model"
    out = repro("eval", "--model", str(policy), "--recipe", "imdb/smoke", "--name", "dpo-elsewhere", root=root)
    assert "world: unchanged" in out.stderr and "sft: unchanged" in out.stderr  # only evaluation runs
    (path,) = (root / "runs").glob("imdb-smoke-checkpoint-*/record.json")
    ev = json.loads(path.read_text())
    assert ev["method"] == "dpo-elsewhere" and ev["status"] == "completed"
    assert [s["name"] for s in ev["stages"]] == ["world", "sft", "eval-gold"]
    # Same prompts, same sampling seed, same weights: the same numbers as the DPO run's own eval.
    for key in ("gold/reward_mean", "gold/win_rate_vs_sft", "gold/kl_to_sft"):
        assert ev["metrics"][key] == pytest.approx(rec["metrics"][key], abs=1e-6), key
    bad = repro("eval", "--model", str(tmp_path), "--recipe", "imdb/smoke", root=root, check=False)
    assert bad.returncode != 0 and "no config.json" in bad.stderr


def test_a_dpo_learning_curve_leaves_training_unchanged_and_reaches_the_tables(dpo_run, tmp_path):
    """eval.every_steps on DPO: Hugging Face saves every 2 steps, each evaluated like the final policy; saving
    changes nothing in training (the final policy's scores equal the run without a curve); the tables read
    steps to converge off the curve and draw it."""
    root, plain = dpo_run
    repro("run", "--method", "dpo", "--recipe", "imdb/smoke", "eval.every_steps=2", root=root)
    (path,) = [p for p in (root / "runs").glob("imdb-smoke-dpo-*/record.json") if p.parent.name != plain["run_id"]]
    rec = json.loads(path.read_text())
    steps = {s["name"]: s for s in rec["stages"]}["dpo"]["train"]["train/loss_mean"]["n"]
    curve = rec["curve"]
    assert [p["step"] for p in curve] == [0, *range(2, steps, 2), steps]
    assert [p["samples"] for p in curve] == [p["step"] * 32 for p in curve]  # methods.dpo.batch_size pairs a step
    assert all(a["wall_s"] < b["wall_s"] for a, b in zip(curve, curve[1:]))
    gold = {k: v for k, v in plain["metrics"].items() if k.startswith("gold/")}
    assert curve[-1]["metrics"] == gold == {k: v for k, v in rec["metrics"].items() if k.startswith("gold/")}
    out = tmp_path / "tables"
    repro("tables", "--recipe", "imdb/smoke", "--out", str(out), "--format", "md", "--format", "png", root=root)
    assert "steps to converge" in (out / "efficiency-imdb-smoke-cpu.md").read_text()
    assert (out / "imdb-smoke-cpu-learning-curves.png").read_bytes()[:4] == b"\x89PNG"


def test_a_local_grid_sweep_runs_concurrently_resumes_and_tabulates_two_variants(dpo_run, tmp_path):
    """`repro sweep --launcher local --jobs 2` over sft and two DPO betas (one core each, so both DPO runs are
    admitted at once): the shared stages are reused, the DPO trainings overlap in time, the scores table has one
    row per beta, and a second sweep resumes (every stage skipped)."""
    root, _ = dpo_run
    args = ["sweep", "--methods", "sft,dpo", "--seeds", "0", "--grid", "methods.dpo.beta=0.1,0.5", "--recipe",
            "imdb/smoke", "--launcher", "local", "--jobs", "2", "resources.cpus=1", "resources.mem_gb=4"]
    repro(*args, root=root)
    (manifest,) = (root / "sweeps").glob("*/sweep.json")
    runs = json.loads(manifest.read_text())["runs"]
    assert [(r["method"], r["grid"]) for r in runs] == [
        ("sft", []), ("dpo", ["methods.dpo.beta=0.1"]), ("dpo", ["methods.dpo.beta=0.5"])]
    records = [json.loads((root / "runs" / r["run_id"] / "record.json").read_text()) for r in runs]
    assert all(r["status"] == "completed" for r in records)
    assert all(s["status"] == "skipped" for r in records for s in r["stages"] if s["name"] in ("world", "sft"))
    spans = [(s["started_at"], s["ended_at"]) for r in records[1:] for s in r["stages"] if s["name"] == "dpo"]
    assert max(a for a, _ in spans) < min(b for _, b in spans)  # the two DPO trainings ran at the same time
    assert records[2]["variant"] == {"methods.dpo.beta": 0.5} and records[1]["variant"] == {}
    assert "sweep of 3 runs" in repro(*args, root=root).stderr
    again = [json.loads((root / "runs" / r["run_id"] / "record.json").read_text()) for r in runs]
    assert all(s["status"] == "skipped" for r in again for s in r["stages"])  # resumed: nothing ran twice
    table = repro("tables", "--recipe", "imdb/smoke", root=root).stdout
    assert "| dpo beta=0.5 | 1 |" in table and "dpo beta=0.5: methods.dpo.beta=0.5" in table


def test_wandb_offline_tracks_every_stage_and_never_sees_the_key(dpo_run):
    """wandb.mode=offline: one W&B run per stage in the run id's group (reused stages too), with the stage's
    training curves, the sampler's numbers and the scores; the API key stays in the environment."""
    from tests.wandb_files import read_offline_run

    root, plain = dpo_run
    secret = "wandb-key-9f8e7d6c5b4a-never-written"
    env = {**os.environ, "WANDB_API_KEY": secret}
    args = ["run", "--method", "dpo", "--recipe", "imdb/smoke", "wandb.mode=offline", "wandb.project=repro-test"]
    dry = repro(*args, "--dry-run", root=root, env=env)
    assert "REPRO_WANDB_MODE=offline" in dry.stdout and secret not in dry.stdout + dry.stderr
    done = repro(*args, root=root, env=env)
    assert secret not in done.stdout + done.stderr
    rec = json.loads((root / "runs" / plain["run_id"] / "record.json").read_text())  # tracking changes no run id
    assert all(s["status"] == "skipped" for s in rec["stages"]) and "wandb" not in rec["spec"]
    runs = {}
    for s in rec["stages"]:
        (folder,) = (Path(s["workdir"]) / "wandb").glob("offline-run-*")
        runs[s["name"]] = read_offline_run(folder)
    assert {r.group for r in runs.values()} == {rec["run_id"]} and runs["dpo"].job_type == "dpo"
    assert runs["dpo"].tags == ["dpo", "seed=0", "imdb-smoke", "shipped"]
    losses = [h["train/loss_mean"] for h in runs["dpo"].history if "train/loss_mean" in h]
    assert len(losses) == {s["name"]: s for s in rec["stages"]}["dpo"]["train"]["train/loss_mean"]["n"]
    assert runs["eval-gold"].summary["gold/reward_mean"] == rec["metrics"]["gold/reward_mean"]
    assert runs["dpo"].summary["sampler/wall_s"] > 0 and runs["dpo"].summary["status"] == "completed"
    leaked = [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaked == []


def test_the_html_report_renders_tables_and_plots_in_a_real_browser(dpo_run, tmp_path):
    """`repro report`: one self-contained page for the setting; headless Chromium shows its tables' text and
    draws its inlined plots (coloured pixels appear only where a plot image rendered)."""
    from PIL import Image

    from tests.browser import chromium

    root, rec = dpo_run
    repro("report", "--recipe", "imdb/smoke", "--out", str(tmp_path), root=root)
    page = tmp_path / "imdb-smoke.html"
    text = page.read_text()
    assert "http" not in text.split("</style>")[1].split("data:image/png")[0]  # nothing fetched on open
    dom = chromium("--dump-dom", page.as_uri()).stdout
    assert "gold reward at matched KL" in dom and "Efficiency — imdb-smoke (CPU)" in dom and "Paper Table 3" in dom
    assert f"{rec['metrics']['gold/reward_mean']:.3f}" in dom
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,9000", page.as_uri())
    image = Image.open(shot).convert("RGB")
    pixels = list(image.getdata())
    assert sum(p != (255, 255, 255) for p in pixels) > 0.02 * len(pixels)  # not blank
    coloured = sum(max(p) - min(p) > 60 for p in pixels)  # the tables are grey; matplotlib's lines are not
    assert coloured > 2000, coloured

"""The local launcher on tiny real subprocesses: metrics, resume, failure, record schema."""

import json
import sys
from pathlib import Path

import pytest

from repro.errors import MissingDependencyError, StageFailed
from repro.launch.local import run_stages
from repro.spec import Resources
from repro.stages import Stage, TokenCount
from repro.store import RunRecord, load_record, now, save_record


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def make_record() -> RunRecord:
    return RunRecord(run_id="r", method="m", recipe="x", setting="s", seed=0, created_at=now(),
                     updated_at=now(), spec={})


def pipeline(tmp: Path, fail: bool = False) -> list[Stage]:
    a, b = tmp / "a", tmp / "b"
    write_a = (f"import json,pathlib; d=pathlib.Path({str(a)!r}); d.mkdir(parents=True, exist_ok=True); "
               f"(d/'data.txt').write_text('hello'); "
               f"(d/'stats.json').write_text(json.dumps({{'train': {{'tokens': 1000}}}})); "
               f"x = bytearray(64 * 2**20); import time; time.sleep(0.6)")
    write_b = ("import json,pathlib,sys; d=pathlib.Path(%r); d.mkdir(parents=True, exist_ok=True); "
               "print('step 1'); print('boom', file=sys.stderr); sys.exit(3) if %r else None; "
               "(d/'report.json').write_text(json.dumps({'metrics': {'gold/reward_mean': 0.7}, 'tokens': 50}))"
               % (str(b), fail))
    return [
        Stage(name="a", argv=py(write_a), resources=Resources(), workdir=str(a),
              tokens=TokenCount(stats_file=str(a / "stats.json"), key="train", multiplier=2),
              fingerprints={"data": str(a / "data.txt")}),
        Stage(name="b", argv=py(write_b), resources=Resources(), workdir=str(b), needs=["a"],
              inputs=[str(a / "data.txt")], report=str(b / "report.json")),
    ]


def test_runs_measures_and_records(tmp_path):
    rec_path = tmp_path / "record.json"
    record = run_stages(pipeline(tmp_path), make_record(), rec_path)
    saved = load_record(rec_path)
    assert saved.status == "completed" and [s.status for s in saved.stages] == ["completed", "completed"]
    a = saved.stage("a").metrics
    assert a.device == "cpu" and a.wall_s >= 0.5 and a.peak_rss_mib > 64 and a.peak_pss_mib > 64  # the 64 MiB buffer
    assert a.tokens == 2000 and a.tokens_per_s == pytest.approx(2000 / a.wall_s, rel=0.01)
    assert saved.metrics == {"gold/reward_mean": 0.7}
    assert len(saved.fingerprints["data"]) == 16
    assert (tmp_path / "a" / "log.txt").exists() and (tmp_path / "a" / "command.sh").exists()
    assert record.schema_version == 1


def test_rerun_skips_unchanged_and_reruns_changed_inputs(tmp_path):
    rec_path = tmp_path / "record.json"
    run_stages(pipeline(tmp_path), make_record(), rec_path)
    second = run_stages(pipeline(tmp_path), load_record(rec_path), rec_path)
    assert [s.status for s in second.stages] == ["skipped", "skipped"]
    assert second.stage("a").metrics is not None  # the original measurement is kept

    # Stage b's input changes -> b runs again; a's argv is unchanged -> skipped.
    stages = pipeline(tmp_path)
    (tmp_path / "a" / "data.txt").write_text("changed")
    third = run_stages(stages, load_record(rec_path), rec_path)
    assert [s.status for s in third.stages] == ["skipped", "completed"]


def test_failed_stage_records_status_and_log_tail(tmp_path):
    rec_path = tmp_path / "record.json"
    with pytest.raises(StageFailed, match="stage 'b' failed"):
        run_stages(pipeline(tmp_path, fail=True), make_record(), rec_path)
    saved = load_record(rec_path)
    b = saved.stage("b")
    assert saved.status == "failed" and b.status == "failed" and b.exit_code == 3
    assert "boom" in b.log_tail and "step 1" in b.log_tail
    assert saved.stage("a").status == "completed"  # nothing already done is lost
    # A fixed re-run resumes: a is skipped, b runs.
    fixed = run_stages(pipeline(tmp_path), saved, rec_path)
    assert [s.status for s in fixed.stages] == ["skipped", "completed"]


def test_missing_module_says_what_to_install(tmp_path):
    stage = Stage(name="x", argv=["true"], resources=Resources(), workdir=str(tmp_path / "x"),
                  requires=["surely_missing_module_xyz"])
    with pytest.raises(MissingDependencyError, match="surely_missing_module_xyz.*make install"):
        run_stages([stage], make_record(), tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_record_json_is_valid_after_each_stage(tmp_path):
    rec_path = tmp_path / "record.json"
    run_stages(pipeline(tmp_path), make_record(), rec_path)
    data = json.loads(rec_path.read_text())
    assert set(data) >= {"schema_version", "run_id", "status", "stages", "metrics", "fingerprints", "env"}
    assert not list(tmp_path.glob(".record.json.*"))  # no temp files left behind


def test_force_reruns_completed_stages(tmp_path):
    rec_path = tmp_path / "record.json"
    run_stages(pipeline(tmp_path), make_record(), rec_path)
    again = run_stages(pipeline(tmp_path), load_record(rec_path), rec_path, force=True)
    assert [s.status for s in again.stages] == ["completed", "completed"]


@pytest.mark.parametrize("method, device, expected", [
    ("dvpo", "cpu", "CPU: 1 HF-generate engine(s) in place of vLLM (repro/cpu/hf_engine.py), no preallocation, "
                    "samples independent of batching (repeatable)"),
    ("ppo", "gpu", "vLLM: 8 engine(s), gpu_memory_utilization 0.5 preallocated per GPU, colocated True, sleep off, "
                   "full_determinism off"),
    ("dpo", "cpu", None),
])
def test_record_names_the_rollout_engine_and_its_preallocation(results_root, method, device, expected):
    from repro.runs import open_record, plan_run

    gpu = ("resources.device=gpu", "resources.gpus_per_node=8", "rl.rollout_micro_batch_size=4") if device == "gpu" else ()
    plan = plan_run(method, "imdb/smoke", overrides=gpu, results_root=results_root)
    record = open_record(plan, "local")
    assert record.rollout_engine == expected
    save_record(record, plan.layout.record_path)
    assert open_record(plan, "local").rollout_engine == expected  # a resumed run says the same


def test_rollout_memory_share_and_sleep_reach_vllm_and_the_record_on_gpu(results_root):
    from repro.runs import open_record, plan_run

    gpu = ("resources.device=gpu", "resources.gpus_per_node=8", "rl.rollout_micro_batch_size=4")
    plan = plan_run("dvpo", "imdb/smoke", overrides=(*gpu, "rl.rollout_memory_fraction=0.3", "rl.rollout_sleep=true"),
                    results_root=results_root)
    (policy,) = [s for s in plan.stages if s.name == "policy"]
    argv = " ".join(policy.argv)
    assert "--vllm.gpu_memory_utilization 0.3" in argv and "--vllm.enable_sleep" in argv
    assert open_record(plan, "local").rollout_engine.endswith("gpu_memory_utilization 0.3 preallocated per GPU, "
                                                             "colocated True, sleep on, full_determinism off")
    # Left at their defaults the fields are not in the spec dump: run ids of existing recipes stay put.
    assert "rollout_sleep" not in plan_run("dvpo", "imdb/smoke", results_root=results_root).spec.rl.model_dump()


def test_full_determinism_reaches_openrlhf_and_the_record_on_gpu_only(results_root):
    from repro.runs import open_record, plan_run

    gpu = ("resources.device=gpu", "resources.gpus_per_node=8", "rl.rollout_micro_batch_size=4")
    plan = plan_run("ppo", "imdb/smoke", overrides=(*gpu, "rl.full_determinism=true"), results_root=results_root)
    (policy,) = [s for s in plan.stages if s.name == "policy"]
    assert "--train.full_determinism_enable" in policy.argv
    assert open_record(plan, "local").rollout_engine.endswith("full_determinism on")
    cpu = plan_run("ppo", "imdb/smoke", overrides=("rl.full_determinism=true",), results_root=results_root)
    assert "--train.full_determinism_enable" not in next(s for s in cpu.stages if s.name == "policy").argv
    # Off by default and then not in the spec dump: existing run ids stay put.
    assert "full_determinism" not in plan_run("ppo", "imdb/smoke", results_root=results_root).spec.rl.model_dump()
    two_nodes = plan_run("dvpo", "imdb/smoke", overrides=("resources.nodes=2", "rl.rollout_micro_batch_size=16"),
                         results_root=results_root)
    assert open_record(two_nodes, "local").rollout_engine.endswith("(not repeatable: prompts spread by load)")

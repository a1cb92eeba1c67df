"""The Slurm launcher against a real local Slurm: pipelines, arrays, failures, cancel, requeue."""

import json
import subprocess
from pathlib import Path

import pytest

from repro.store import RunRecord, load_record
from tests.conftest import tensorboard_steps
from tests.slurm.conftest import SLURM, records, repro, sacct_state, wait_final, wait_for

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]


def test_dpo_through_slurm_gives_the_local_record(tmp_path, dpo_smoke_run):
    slurm_root = tmp_path / "slurm"
    repro("run", "--method", "dpo", "--recipe", "imdb/smoke", *SLURM, root=slurm_root)
    (via_slurm,) = wait_final(slurm_root)
    assert via_slurm.status == "completed", [(s.name, s.status, s.log_tail) for s in via_slurm.stages]
    assert all(s.job_id and s.status == "completed" for s in via_slurm.stages)
    local = RunRecord.model_validate(dpo_smoke_run[1])  # the same run, launched locally (the session's one)
    assert [s.name for s in via_slurm.stages] == [s.name for s in local.stages]
    assert via_slurm.fingerprints == local.fingerprints
    assert via_slurm.metrics == pytest.approx(local.metrics)
    out = repro("status", via_slurm.run_id, root=slurm_root).stdout
    assert via_slurm.stages[0].job_id in out and "completed" in out


def test_sweep_submits_one_array_per_stage_over_grid_points_and_seeds(tmp_path):
    repro("sweep", "--methods", "sft", "--seeds", "0,1", "--grid", "eval.n_prompts=16,32", "--recipe", "imdb/smoke",
          *SLURM[2:], root=tmp_path)
    runs = wait_final(tmp_path, n=4)
    assert sorted((r.seed, r.spec["eval"]["n_prompts"]) for r in runs) == [(0, 16), (0, 32), (1, 16), (1, 32)]
    assert all(r.status == "completed" for r in runs)
    for stage in ("world", "sft", "eval-gold"):
        ids = sorted(r.stage(stage).job_id for r in runs)
        arrays = {i.split("_")[0] for i in ids}
        assert len(arrays) == 1 and sorted(i.split("_")[1] for i in ids) == ["0", "1", "2", "3"], ids
        assert all(sacct_state(i) == "COMPLETED" for i in ids)
    # The two grid points of a seed share its world and SFT: one array task builds each, the other skips it.
    for seed in (0, 1):
        sft = sorted(r.stage("sft").status for r in runs if r.seed == seed)
        assert sft == ["completed", "skipped"], sft


def test_failed_stage_is_failed_and_dependents_cancelled(tmp_path):
    # 30,000 reviews do not exist: the world stage exits non-zero.
    repro("run", "--method", "dpo", "--recipe", "imdb/smoke", "world.n_gold=30000", *SLURM, root=tmp_path)
    (rec,) = wait_for(lambda: [r for r in records(tmp_path) if r.stage("world").status == "failed"], 300,
                      "the world stage to fail")
    world = rec.stage("world")
    assert "only 25000 exist" in world.log_tail
    dependents = [s.job_id for s in rec.stages[1:]]
    wait_for(lambda: all(sacct_state(j) == "CANCELLED" for j in dependents), 120, "dependents to be cancelled")
    out = repro("status", rec.run_id, root=tmp_path).stdout
    assert out.count("cancelled") >= 4 and "failed" in out


def test_cancel_stops_every_job(tmp_path):
    repro("run", "--method", "dpo", "--recipe", "imdb/smoke", *SLURM, root=tmp_path)
    (rec,) = records(tmp_path)
    out = repro("cancel", rec.run_id, root=tmp_path).stdout
    assert "cancelled 5 job(s)" in out
    wait_for(lambda: all(sacct_state(s.job_id) == "CANCELLED" for s in rec.stages), 120, "jobs to be cancelled")
    assert load_record(tmp_path / "runs" / rec.run_id / "record.json").status == "cancelled"


def test_usr2_requeues_the_world_job_and_the_policy_continues_from_its_checkpoint(tmp_path):
    """Preemption, twice in one run: USR2 during the world build requeues that job, which builds again and
    completes; USR2 mid-policy requeues the policy job, which resumes from its last checkpoint, not step 0."""
    # A bigger world build gives the first signal time to land while the stage runs.
    repro("run", "--method", "grpo", "--recipe", "imdb/smoke", "world.n_gold=12000", "checkpoint.every_steps=1",
          "checkpoint.stages=[policy]", *SLURM, root=tmp_path)
    (rec,) = records(tmp_path)
    world_job, policy_job = rec.stage("world").job_id, rec.stage("policy").job_id
    wait_for(lambda: sacct_state(world_job) == "RUNNING", 120, "the world job to start")
    subprocess.run(["scancel", "--signal=USR2", world_job], check=True)
    latest = Path(rec.stage("policy").workdir) / "ckpt" / "_actor" / "latest"
    wait_for(latest.is_file, 1200, "the policy's first checkpoint")
    subprocess.run(["scancel", "--signal=USR2", policy_job], check=True)
    (done,) = wait_final(tmp_path, timeout_s=1200)
    assert done.status == "completed", [(s.name, s.status, s.log_tail) for s in done.stages]
    policy = done.stage("policy")
    assert policy.resumed_from and policy.resumed_from.startswith("global_step")
    for job in (world_job, policy_job):  # each job's own logs (slurm/<job id>/) say it was requeued
        logs = "".join(p.read_text() for p in (tmp_path / "runs" / rec.run_id / "slurm" / job).rglob("*_log.*"))
        assert "requeue" in logs.lower(), logs[-3000:]
    assert json.loads((Path(done.stage("world").workdir) / "stage.json").read_text())["status"] == "completed"
    # One curve through the stop: steps 1..n, those after the saved step logged by the requeued job.
    steps = tensorboard_steps(Path(policy.workdir) / "tb", "train/timing/step_total")
    n = policy.train["train/timing/step_total"]["n"]
    assert sorted(set(steps)) == list(range(1, n + 1)) and n == 12  # smoke: 96 prompts, 8 per GRPO step
    assert "resumed from checkpoint" in (Path(policy.workdir) / "log.txt").read_text()

"""The Slurm launcher: each stage becomes a submitit job chained with afterok dependencies.

Jobs run a StageJob (the same StageRunner as the local launcher), from a code snapshot taken at
submission (submitit's RsyncSnapshot), so a queued job runs the code as it was when it was
submitted. A failed job cancels its dependents (--kill-on-invalid-dep=yes). A sweep submits one
job array per (method, stage) over seeds, chained task-to-task with aftercorr.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import submitit

from repro.errors import ReproError
from repro.launch import Launcher
from repro.launch.profiles import ClusterProfile, executor_parameters, load_profile
from repro.launch.stage_job import StageJob
from repro.runs import Plan, open_record
from repro.stages import Stage
from repro.store import RunRecord, StageRecord, save_record

FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
                "BOOT_FAIL", "DEADLINE"}


def check_partition(partition: str) -> None:
    """Unknown partition -> a clear error before anything is submitted."""
    if shutil.which("sinfo") is None:
        raise ReproError("sinfo not found: run on a Slurm login node (or start one: bash slurm/local/start.sh)")
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True)
    if out.returncode != 0:
        raise ReproError(f"sinfo failed: {out.stderr.strip()}")
    names = sorted({p.rstrip("*") for p in out.stdout.split()})
    if partition not in names:
        from repro.errors import UnknownNameError

        raise UnknownNameError("partition", partition, names)


def job_folder(plan: Plan) -> Path:
    return plan.layout.run_dir / "slurm"


def stage_executor(stage: Stage, profile: ClusterProfile, folder: Path, dependency: str | None) -> submitit.SlurmExecutor:
    params = executor_parameters(stage.resources, profile, stage.name)
    if dependency:
        params["additional_parameters"] = {"dependency": dependency, "kill-on-invalid-dep": "yes"}
    executor = submitit.SlurmExecutor(folder=folder / "%j")
    executor.update_parameters(**params)
    return executor


def submit(executor: submitit.SlurmExecutor, jobs: list[StageJob]) -> list[str]:
    """Submit one job, or several as an array; sbatch's rejection message becomes the error."""
    try:
        if len(jobs) == 1:
            return [executor.submit(jobs[0]).job_id]
        with executor.batch():
            handles = [executor.submit(j) for j in jobs]
        return [h.job_id for h in handles]
    except Exception as e:  # submitit wraps sbatch failures in several exception types
        raise ReproError(f"sbatch rejected the job: {e}") from None


def snapshot(folder: Path):
    if not submitit.helpers.RsyncSnapshot.available():
        raise ReproError("the Slurm launcher snapshots the code with rsync: install it (apt-get install rsync)")
    from repro.recipes import REPO_ROOT

    return submitit.helpers.RsyncSnapshot(folder / "code", root_dir=REPO_ROOT)


def submit_runs(plans: list[Plan], records: list[RunRecord], profile: ClusterProfile) -> dict[str, dict[str, str]]:
    """Submit every stage of every plan. Plans of one sweep share a stage list, so each stage
    becomes one array over the plans; returns run_id -> stage -> job id."""
    check_partition(profile.partition)
    names = [s.name for s in plans[0].stages]
    if any([s.name for s in p.stages] != names for p in plans):
        raise ReproError("a sweep's runs must have the same stages; submit different methods separately")
    folder = job_folder(plans[0])
    ids: dict[str, dict[str, str]] = {p.layout.run_id: {} for p in plans}
    array_ids: dict[str, str] = {}
    with snapshot(folder):
        for i, name in enumerate(names):
            stages = [p.stages[i] for p in plans]
            deps = [array_ids[n] for n in stages[0].needs]
            kind = "afterok" if len(plans) == 1 else "aftercorr"
            dependency = ",".join(f"{kind}:{d}" for d in deps) or None
            jobs = [StageJob(s.model_dump_json(), str(p.layout.record_path), last=i == len(names) - 1)
                    for s, p in zip(stages, plans)]
            job_ids = submit(stage_executor(stages[0], profile, folder, dependency), jobs)
            array_ids[name] = job_ids[0].split("_")[0]
            for p, job_id in zip(plans, job_ids):
                ids[p.layout.run_id][name] = job_id
    for plan, record in zip(plans, records):
        record.status = "submitted"
        record.stages = [StageRecord(name=s.name, shared=s.shared, workdir=s.workdir, command=s.command_line(),
                                     status="submitted", job_id=ids[plan.layout.run_id][s.name]) for s in plan.stages]
        save_record(record, plan.layout.record_path)
    return ids


def sacct_states(job_ids: list[str]) -> dict[str, str]:
    """Job id -> Slurm state (array tasks as <array>_<task>), from sacct."""
    if not job_ids:
        return {}
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)],
                         capture_output=True, text=True)
    states = {}
    for line in out.stdout.splitlines():
        if "|" in line:
            jid, state = line.split("|", 1)
            states[jid.strip()] = state.split()[0] if state else ""
    return states


def reconcile(record: RunRecord) -> RunRecord:
    """Fold Slurm's view (pending, cancelled, failed before starting) into a run record."""
    states = sacct_states([s.job_id for s in record.stages if s.job_id])
    for s in record.stages:
        state = states.get(s.job_id or "")
        if state == "CANCELLED" and s.status in ("submitted", "pending", "running"):
            s.status = "cancelled"
        elif state in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL") and s.status in ("submitted", "running"):
            s.status = "failed"
    if any(s.status == "failed" for s in record.stages):
        record.status = "failed"
    elif any(s.status == "cancelled" for s in record.stages) and record.status != "completed":
        record.status = "cancelled"
    return record


def scancel_live(record: RunRecord) -> list[str]:
    live = [s.job_id for s in record.stages if s.job_id and s.status in ("submitted", "running", "pending")]
    if live:
        subprocess.run(["scancel", *live], check=False)
    return live


class SlurmLauncher(Launcher):
    name = "slurm"
    description = "one Slurm job per stage (submitit), chained by dependencies; a sweep's seeds as job arrays"

    def cluster_profile(self) -> ClusterProfile:
        if not self.profile:
            raise ReproError("--launcher slurm needs --profile NAME (see slurm/profiles/)")
        return load_profile(self.profile)

    def launch(self, plans: list[Plan], force: bool = False) -> list[RunRecord]:
        # force is moot here: every job re-checks its stage's key when it runs, as a local re-run does.
        profile = self.cluster_profile()
        records = [open_record(p, self.name) for p in plans]
        submit_runs(plans, records, profile)
        return records

    def dry_run(self, plans: list[Plan]) -> str:
        from repro.launch.slurm_script import render_job_scripts

        profile = self.cluster_profile()
        return "".join(render_job_scripts(plan, profile) for plan in plans)

    def refresh(self, record: RunRecord) -> RunRecord:
        return reconcile(record)

    def cancel(self, record: RunRecord) -> list[str]:
        return scancel_live(record)

"""What a Slurm job runs: one stage, through the same StageRunner as the local launcher.

submitit pickles a StageJob and calls it on the allocated node(s). On USR2 (timeout or
preemption) submitit calls checkpoint(): the stage's process group is stopped and the same
job is requeued; the stage re-runs (OpenRLHF stages resume from their checkpoints).
"""

from __future__ import annotations

import os
import string
import subprocess
from pathlib import Path

import submitit

from repro.cpu.local_rendezvous import STORE_DIR_ENV
from repro.errors import StageFailed
from repro.launch.stage_runner import completed_record, stage_key
from repro.netaddr import source_address
from repro.stages import Stage
from repro.store import load_record


def distributed_env(hostnames: list[str], node: int, job_id: str, device: str, shared_dir: Path) -> dict[str, str]:
    """torchrun/deepspeed rendezvous from the allocation: first node is the master. On CPU one process per
    node runs through the CPU layer, so its rank is its node's, and its process groups rendezvous through
    files in `shared_dir` (in the job's folder, which every node sees), not a TCP store open on every
    interface (repro/cpu/local_rendezvous.py)."""
    env = {
        "MASTER_ADDR": hostnames[0],
        "MASTER_PORT": os.environ.get("MASTER_PORT", str(29500 + int(job_id.split("_")[0]) % 10000)),
        "NNODES": str(len(hostnames)),
        "NODE_RANK": str(node),
    }
    if device == "cpu":
        env.update({"RANK": str(node), "WORLD_SIZE": str(len(hostnames)), "LOCAL_RANK": "0", "LOCAL_SIZE": "1",
                    STORE_DIR_ENV: str(shared_dir)})
    return env


def shared_store_dir(job_env: submitit.JobEnvironment) -> Path:
    """Rendezvous files of this attempt of the job (a requeued job starts clean: Slurm counts restarts)."""
    return Path(job_env.paths.folder) / f"store-{os.environ.get('SLURM_RESTART_COUNT', '0')}"


class StageJob(submitit.helpers.Checkpointable):
    def __init__(self, stage_json: str, record_path: str, last: bool):
        self.stage_json, self.record_path, self.last = stage_json, record_path, last

    def __call__(self) -> str:
        import repro

        stage = Stage.model_validate_json(self.stage_json)
        job_env = submitit.JobEnvironment()
        # Which copy of the code runs: the snapshot taken at submission, not the live checkout.
        print(f"stage {stage.name}: repro code from {Path(repro.__file__).parent}", flush=True)
        if stage.resources.nodes > 1 and stage.ray_cluster:
            return self.run_on_ray_cluster(stage, job_env)
        if stage.resources.nodes > 1:
            env = {**stage.env, **distributed_env(list(job_env.hostnames), job_env.node, job_env.job_id,
                                                  stage.resources.device, shared_store_dir(job_env))}
            argv = [string.Template(a).safe_substitute(env) for a in stage.argv]
            stage = stage.model_copy(update={"env": env, "argv": argv})
        if job_env.global_rank != 0:  # every node runs the command; only the first one records it
            if not completed_record(stage, stage_key(stage)):  # else the first node skips it: nobody to meet
                subprocess.run(stage.argv, env={**os.environ, **stage.env}, check=True)
            return stage.name
        return self.run_and_record(stage)

    def run_on_ray_cluster(self, stage: Stage, job_env: submitit.JobEnvironment) -> str:
        """Multi-node Ray driver: a head here on the first node, a worker on every other node;
        the driver runs once every GPU has joined, and the head is stopped by its PID after."""
        from repro.launch import ray_cluster

        gpus = stage.ray_gpus_per_node or stage.resources.gpus_per_node
        # Every OpenRLHF actor also takes a Ray CPU slot (a scheduling token; threads follow OMP_NUM_THREADS):
        # a node advertising fewer CPUs than logical GPUs leaves actors pending forever.
        boot = ray_cluster.bootstrap_for(job_env.hostnames, gpus, max(stage.resources.cpus, gpus), job_env.job_id)
        log = str(Path(stage.workdir) / f"ray-node{job_env.node}.log")
        Path(stage.workdir).mkdir(parents=True, exist_ok=True)
        if job_env.global_rank != 0:
            # The node's own address towards the head (Ray would guess the route to the internet).
            worker = ray_cluster.start(boot.worker_argv(source_address(boot.head_host)), log, ray_cluster.WORKER_ENV)
            try:
                worker.wait()
            finally:
                ray_cluster.stop(worker)  # also what `ray start` left behind when the head went away
            return stage.name
        head = ray_cluster.start(boot.head_argv(), log)
        try:
            ray_cluster.wait_for_gpus(boot, timeout_s=600, node_ip=source_address(boot.head_host))
            env = {**stage.env, **boot.driver_env()}
            if stage.resources.device == "cpu":  # the CPU layer's rendezvous files, seen from every node
                env[STORE_DIR_ENV] = str(shared_store_dir(job_env))
            return self.run_and_record(stage.model_copy(update={"env": env}))
        finally:
            ray_cluster.stop(head)

    def run_and_record(self, stage: Stage) -> str:
        from rich.console import Console

        from repro.launch.stage_runner import StageRunner

        path = Path(self.record_path)
        record = load_record(path)
        record.status = "running"
        runner = StageRunner(record, path, Console(stderr=True), keep_cancelled=True)
        try:
            runner.run_stage(stage)
        except StageFailed:
            record.status = "failed"
            runner.save()
            raise
        if self.last:
            record.status = "completed"
        runner.save()
        return stage.name

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Requeue: the running stage is stopped by its process group; the re-run resumes it."""
        from repro.launch.stage_runner import stop_running_stages

        stop_running_stages()
        return super().checkpoint(*args, **kwargs)

"""Render the sbatch scripts the Slurm launcher would submit, without submitting (--dry-run).

submitit has no public "render only" call, so this module alone uses its private
_make_sbatch_string; tests pin the submitit version so a change there fails loudly here.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from submitit.slurm import slurm as submitit_slurm

from repro.launch.profiles import ClusterProfile, executor_parameters
from repro.launch.ray_cluster import render_bootstrap
from repro.runs import Plan
from repro.stages import env_prefix

SUBMITIT_VERSION = "1.5.4"


def job_script(plan: Plan, index: int, profile: ClusterProfile, dependency: str | None) -> str:
    stage = plan.stages[index]
    params = executor_parameters(stage.resources, profile, stage.name)
    if dependency:
        params["additional_parameters"] = {"dependency": dependency, "kill-on-invalid-dep": "yes"}
    folder = plan.layout.run_dir / "slurm" / "%j"
    command = " ".join([shlex.quote(sys.executable), "-u -m submitit.core._submit", shlex.quote(str(folder))])
    return submitit_slurm._make_sbatch_string(command=command, folder=folder, **params)


def render_job_scripts(plan: Plan, profile: ClusterProfile) -> str:
    """Every job script, with the stage command each job runs (from the pickled StageJob)."""
    parts = [f"# run {plan.layout.run_id} on Slurm (profile partition {profile.partition}); "
             f"job ids are assigned at submission: <stage> stands for that stage's job id"]
    for i, stage in enumerate(plan.stages):
        dependency = ",".join(f"afterok:<{n}>" for n in stage.needs) or None
        parts += ["", f"# ===== job {stage.name} =====", job_script(plan, i, profile, dependency).rstrip(),
                  f"# the job runs stage '{stage.name}' in {Path(stage.workdir)}:",
                  *(f"#   {line}" for line in (env_prefix(stage) + stage.command_line()).splitlines())]
        if stage.ray_cluster and stage.resources.nodes > 1:
            r = stage.resources
            parts += ["# with Ray bootstrapped across the allocation (repro/launch/ray_cluster.py):",
                      *(f"#   {line}" for line in render_bootstrap(r.nodes, r.gpus_per_node, r.cpus))]
    return "\n".join(parts) + "\n"

"""Cluster profiles (slurm/profiles/<name>.yaml): partition, account, gres syntax, setup lines.

A profile plus a stage's Resources give the Slurm options of that stage's job; the mapping is
a pure function so job scripts can be golden-tested.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repro.errors import RecipeError, ReproError, UnknownNameError
from repro.recipes import REPO_ROOT
from repro.sections import format_validation_error
from repro.spec import Resources


class ClusterProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    partition: str = Field(description="Slurm partition (checked with sinfo before submitting)")
    account: str | None = Field(None, description="--account")
    qos: str | None = Field(None, description="--qos")
    constraint: str | None = Field(None, description="--constraint, e.g. 'a100|h100'")
    gres: str = Field("gpu:{gpus}", description="GRES template; {gpus} is replaced by GPUs per node")
    exclusive: bool = Field(False, description="--exclusive node allocation")
    max_time_min: int | None = Field(None, gt=0, description="partition limit: longer stages are refused")
    setup: list[str] = Field([], description="shell lines run before each job (module load, venv, container)")
    env: dict[str, str] = Field({}, description="environment variables for every job")


# srun ends every node's task when one exits non-zero: without it, a node whose stage failed before the
# rendezvous leaves the others waiting for it until the job's time limit.
MULTI_NODE_SETUP = ["export SLURM_KILL_BAD_EXIT=1"]


def profiles_dir() -> Path:
    return Path(os.environ.get("REPRO_SLURM_PROFILES", REPO_ROOT / "slurm" / "profiles"))


def profile_names() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def load_profile(name: str) -> ClusterProfile:
    path = Path(name) if name.endswith(".yaml") else profiles_dir() / f"{name}.yaml"
    if not path.is_file():
        raise UnknownNameError("profile", name, profile_names())
    try:
        return ClusterProfile.model_validate(yaml.safe_load(path.read_text()) or {})
    except ValidationError as e:
        raise RecipeError(f"{path}:\n{format_validation_error(e, ClusterProfile)}") from None


def executor_parameters(resources: Resources, profile: ClusterProfile, job_name: str) -> dict[str, Any]:
    """submitit SlurmExecutor parameters for one stage (pure)."""
    if profile.max_time_min and resources.time_min > profile.max_time_min:
        raise ReproError(f"stage '{job_name}' asks for {resources.time_min} min; the profile's partition allows "
                         f"{profile.max_time_min}")
    params: dict[str, Any] = {
        "job_name": job_name,
        "partition": profile.partition,
        "nodes": resources.nodes,
        "ntasks_per_node": 1,
        "cpus_per_task": resources.cpus,
        "mem": f"{resources.mem_gb}GB",
        "time": resources.time_min,
        # Setup lines are the profile author's shell; env values are data, so they are quoted.
        "setup": [*profile.setup, *(f"export {k}={shlex.quote(v)}" for k, v in sorted(profile.env.items())),
                  *MULTI_NODE_SETUP * (resources.nodes > 1)],
        "signal_delay_s": 60,
    }
    if resources.gpus_per_node:
        params["gres"] = profile.gres.format(gpus=resources.gpus_per_node)
    for key in ("account", "qos", "constraint"):
        if getattr(profile, key):
            params[key] = getattr(profile, key)
    if profile.exclusive:
        params["exclusive"] = True
    return params


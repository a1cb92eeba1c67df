"""A stage is one command with its environment, resources and files; a pipeline is a DAG of them.

Methods build stages as pure data (argv lists, env dicts), so the same stages run under
the local launcher, become Slurm job scripts, or print under --dry-run.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from repro.errors import ReproError
from repro.spec import Resources, RunSpec
from repro.stages.env import stage_env


class TokenCount(BaseModel):
    """Where a stage's processed-token count comes from: a stats JSON key, times a multiplier."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    stats_file: str = Field(description="JSON file written by an upstream stage or this one")
    key: str = Field(description="top-level key whose 'tokens' field counts the tokens")
    multiplier: float = Field(1.0, description="e.g. epochs")


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="unique within the pipeline, e.g. 'sft'")
    argv: list[str] = Field(description="the full command line")
    env: dict[str, str] = Field({}, description="environment added to the launcher's")
    resources: Resources = Field(description="what the stage needs")
    workdir: str = Field(description="folder holding the stage's outputs, log and stage.json")
    needs: list[str] = Field([], description="names of stages that must complete first")
    inputs: list[str] = Field([], description="files/folders whose content decides whether a re-run is needed")
    requires: list[str] = Field([], description="Python modules the command imports (checked before running)")
    shared: bool = Field(False, description="outputs are keyed by content and reused by every method")
    tokens: TokenCount | None = Field(None, description="how to count the tokens the stage processed")
    report: str | None = Field(None, description="JSON the stage writes: {'metrics': {...}, 'tokens': n}")
    tensorboard_dir: str | None = Field(None, description="OpenRLHF tensorboard folder to summarise")
    fingerprints: dict[str, str] = Field({}, description="record name -> output path hashed into the record")
    ray_cluster: bool = Field(False, description="a Ray driver: on more than one node the Slurm job first "
                                                 "bootstraps Ray across the allocation (repro/launch/ray_cluster.py)")
    ray_gpus_per_node: int = Field(0, ge=0, description="GPUs each node of that Ray cluster advertises when not "
                                                        "resources.gpus_per_node: on CPU, one logical GPU per "
                                                        "model group (OpenRLHF places every group on every node)")

    def command_line(self) -> str:
        return shlex.join(self.argv)


def python_stage(spec: RunSpec, name: str, module: str, args: list[str], workdir: Path, **fields) -> Stage:
    """A stage that is one Python process of this package (world, pairs, eval): one node, the
    shared stage environment, the interpreter running the harness."""
    return Stage(name=name, argv=[sys.executable, "-m", module, *args], env=stage_env(spec.resources),
                 resources=spec.resources.single_node(), workdir=str(workdir), **fields)


def topological_order(stages: list[Stage]) -> list[Stage]:
    # The same shared stage asked for twice (e.g. the reward model by PPO and by an RM-judged
    # evaluator) is one stage; two different stages under one name are an error.
    by_name: dict[str, Stage] = {}
    for s in stages:
        if by_name.setdefault(s.name, s) != s:
            raise ReproError(f"duplicate stage names in pipeline: two different '{s.name}' stages")
    stages = list(by_name.values())
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ReproError(f"dependency cycle through stage '{name}'")
        if name not in by_name:
            raise ReproError(f"a stage needs '{name}', which is not in the pipeline")
        visiting.add(name)
        for dep in by_name[name].needs:
            visit(dep)
        visiting.discard(name)
        done.append(name)

    for s in stages:
        visit(s.name)
    return [by_name[n] for n in done]


def env_prefix(stage: Stage) -> str:
    """The stage's environment as shell exports, quoted: command.sh, job scripts and dry runs print it."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(stage.env.items()))

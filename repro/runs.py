"""Plan a run: recipe -> spec -> the method's stages -> a Plan that any launcher runs, and its record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from repro.layout import Layout, default_results_root, run_id_for
from repro.recipes import load_recipe
from repro.registry import METHODS
from repro.spec import RunSpec
from repro.stages import Stage, env_prefix, topological_order
from repro.stages.env import wandb_env
from repro.store import RunRecord, atomic_write_json, load_record, now
from repro.variants import variant_of


@dataclass
class Plan:
    method: str
    recipe: str
    spec: RunSpec
    layout: Layout
    stages: list[Stage]
    train_stage: str = ""  # the stage whose time/step and memory the efficiency tables report
    rollout_engine: str | None = None  # the method's rollout engine and its preallocation, in words
    label: str | None = None  # the record's method name when it is not `method` (repro eval --name)
    variant: dict | None = None  # what the spec changes against the recipe as shipped (repro/tables/variants.py)
    extra_passes: dict | None = None  # forward passes per sample the method adds, by role (Method.extra_passes)


def plan_run(method: str, recipe: str, seed: int | None = None, overrides: tuple[str, ...] = (),
             results_root: Path | None = None) -> Plan:
    method_impl = METHODS.get(method)()
    spec = load_recipe(recipe, overrides, seed=seed)
    layout = Layout(results_root or default_results_root(), run_id_for(spec, method))
    tracking = wandb_env(spec.wandb)
    stages = [s.model_copy(update={"env": {**s.env, **tracking}}) if tracking else s
              for s in topological_order(method_impl.stages(spec, layout))]
    shipped = load_recipe(recipe, seed=spec.seed) if overrides else spec
    variant = variant_of(json.loads(spec.model_dump_json()), json.loads(shipped.model_dump_json()), method)
    return Plan(method, recipe, spec, layout, stages, method_impl.train_stage, method_impl.rollout_engine(spec),
                variant=variant, extra_passes=method_impl.extra_passes(spec))


def render_dry_run(plan: Plan) -> str:
    """Every stage's environment and full command line, as a shell script would run them."""
    lines = [f"# run {plan.layout.run_id}  (method {plan.method}, recipe {plan.recipe}, seed {plan.spec.seed})",
             f"# results: {plan.layout.run_dir}"]
    for stage in plan.stages:
        shared = "  [shared]" if stage.shared else ""
        lines += ["", f"# --- stage {stage.name}{shared}  needs: {', '.join(stage.needs) or '-'}",
                  f"# workdir: {stage.workdir}", env_prefix(stage).rstrip(), stage.command_line()]
    return "\n".join(lines) + "\n"


def open_record(plan: Plan, launcher: str) -> RunRecord:
    """The run's record: a new one, or the existing one (a re-run resumes, nothing is lost)."""
    from repro.envinfo import collect_env

    run_dir = plan.layout.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "spec.json", plan.spec.model_dump(mode="json"))
    env = collect_env()
    atomic_write_json(run_dir / "env.json", env)
    if plan.layout.record_path.is_file():
        record = load_record(plan.layout.record_path)
        record.env, record.launcher = env, launcher
        record.train_stage, record.rollout_engine = plan.train_stage, plan.rollout_engine
        record.variant, record.extra_passes = plan.variant or {}, plan.extra_passes or {}
        return record
    return RunRecord(run_id=plan.layout.run_id, method=plan.label or plan.method, recipe=plan.recipe,
                     setting=plan.spec.setting, seed=plan.spec.seed, launcher=launcher, created_at=now(),
                     updated_at=now(), spec=json.loads(plan.spec.model_dump_json()), env=env,
                     train_stage=plan.train_stage, rollout_engine=plan.rollout_engine, variant=plan.variant or {},
                     extra_passes=plan.extra_passes or {})

"""`repro bench`'s tables, built like every other table: rows of Cells that repro.tables.render prints.

A BenchRow is one method's record from a bench run plus what only the bench measures (total wall-clock,
the gaps between a trainer's logged steps, the policy's size). Tables: every stage side by side; the training
stage alone in the paper's Table 3 layout with ratios to PPO; and, where the sampler saw roles, the training
stage per role and the analytic model's predicted ratios beside the measured ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repro.metrics.analytic import TRAINED_ROLES, RoleModel, bytes_per_param, predicted_compute, predicted_memory
from repro.store import RoleUsage, RunRecord, StageRecord
from repro.tables.build import Cell, Table, hardware_of, logged_step_time_s, peak_memory_mib


@dataclass
class BenchRow:
    method: str
    device: str
    total_wall_s: float
    record: RunRecord
    step_gaps_s: list[float] = field(default_factory=list)  # seconds between the training stage's logged steps
    params: int | None = None  # parameters of the base policy, from the world's stats

    @property
    def peak_rss_mib(self) -> float:
        return max(s.metrics.peak_rss_mib for s in self.record.stages if s.metrics)

    @property
    def peak_pss_mib(self) -> float:
        return max(s.metrics.peak_pss_mib or 0.0 for s in self.record.stages if s.metrics)

    def stage_wall(self) -> dict[str, float]:
        return {s.name: s.metrics.wall_s for s in self.record.stages if s.metrics}

    def train_stage(self) -> StageRecord | None:
        name = self.record.train_stage
        return next((s for s in self.record.stages if s.name == name and s.metrics), None)

    def train_series(self, tag: str) -> list[float]:
        stage = self.train_stage()
        return stage.train.get(tag, {}).get("values", []) if stage else []

    def step_time_s(self) -> float | None:
        """Mean seconds per step of the training stage, without its first step when there are more (it
        includes the rollout engine's and the optimizers' warm-up, which would dominate a few-step benchmark).
        RL methods: OpenRLHF's timing/step_total per RL iteration (rollout + experience + training). Trainers
        that log no timing (DPO): the gaps between their logged optimiser steps, which start after the first."""
        stage = self.train_stage()
        timed = logged_step_time_s(stage) if stage else None
        if timed is not None:
            return timed
        return sum(self.step_gaps_s) / len(self.step_gaps_s) if self.step_gaps_s else None

    def response_tokens(self) -> float | None:
        """Mean rollout response length: equal across methods when generation lengths are fixed."""
        lengths = self.train_series("train/rollout/response_length_mean")
        return sum(lengths) / len(lengths) if lengths else None


def value(x: float | None, fmt: str) -> Cell:
    return Cell(x, None, 1, fmt) if x is not None else Cell(fmt=fmt)


def ratio(x: float | None, reference: float | None) -> Cell:
    return value(x / reference if x and reference else None, ".2f")


def count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def devices(rows: list[BenchRow]) -> str:
    return ", ".join(sorted({r.device.upper() for r in rows}))


def stages_table(rows: list[BenchRow], command: str) -> Table:
    """Every stage's wall-clock, the whole run's memory peaks and its gold scores, method by method."""
    # Stage columns in pipeline order: take the longest pipeline's order first.
    ordered = sorted(rows, key=lambda r: -len(r.stage_wall()))
    stages = list(dict.fromkeys(name for r in ordered for name in r.stage_wall()))
    header = ["method", "total s", *[f"{s} s" for s in stages], "peak RSS MiB", "peak PSS MiB", "gold reward",
              "win vs SFT"]
    body = []
    for r in rows:
        walls, m = r.stage_wall(), r.record.metrics
        body.append(([r.method], [value(r.total_wall_s, ".1f"), *[value(walls.get(s), ".1f") for s in stages],
                                  value(r.peak_rss_mib, ".0f"), value(r.peak_pss_mib, ".0f"),
                                  value(m.get("gold/reward_mean"), ".3f"), value(m.get("gold/win_rate_vs_sft"), ".3f")]))
    return Table("bench-stages", f"Every stage from scratch ({devices(rows)})", header, body,
                 [f"measured on {machines(rows)} with: `{command}`"])


def machines(rows: list[BenchRow]) -> str:
    """The machine kind every row ran on; rows kept from several machines (--keep across sessions) are named
    one by one, since their ratios compare machines as well as methods."""
    kinds = {r.method: hardware_of(r.record) for r in rows}
    if len(set(kinds.values())) <= 1:
        return next(iter(kinds.values()), devices(rows))
    return ("several machine kinds, so ratios across them are not like for like: "
            + " | ".join(f"{method}: {kind}" for method, kind in kinds.items()))


def train_stage_table(rows: list[BenchRow]) -> Table:
    """The training stage alone in the paper's Table 3 layout (memory per GPU, time per step), with ratios to
    PPO when it ran (else to the first method). On CPU the memory is the stage's peak PSS instead."""
    ref = next((r for r in rows if r.method == "ppo"), rows[0])
    gpu = all(r.device == "gpu" for r in rows)
    memory, unit, scale = ("memory/GPU", "GiB", 1024.0) if gpu else ("peak PSS", "MiB", 1.0)

    def peak(r: BenchRow) -> float | None:
        stage = r.train_stage()
        return peak_memory_mib(stage.metrics) if stage else None

    params = {r.params for r in rows if r.params}
    model = f", {count(params.pop())}-parameter policy" if len(params) == 1 else ""
    header = ["method", "train stage", f"{memory} {unit}", "s/step", f"{memory} / {ref.method}",
              f"s/step / {ref.method}", "stage s", "response tokens"]
    body = []
    for r in rows:
        stage, mem, step = r.train_stage(), peak(r), r.step_time_s()
        body.append(([r.method, stage.name if stage else "—"],
                     [value(mem / scale if mem else None, ".2f" if gpu else ".0f"), value(step, ".2f"),
                      ratio(mem, peak(ref)), ratio(step, ref.step_time_s()),
                      value(stage.metrics.wall_s if stage else None, ".1f"), value(r.response_tokens(), ".0f")]))
    notes = [
        f"{memory}: " + ("peak NVML memory used on the stage's busiest GPU" if gpu else
                         "peak proportional set size of the stage's whole process tree (CPU, not a GPU proxy)"),
        "s/step: mean after the first (warm-up) step; RL methods: OpenRLHF's timing/step_total per RL iteration "
        "(rollout, experience, training); DPO: wall-clock gaps between its logged optimiser steps",
        "the paper's steps-to-converge column has no counterpart: a few-step benchmark does not converge",
    ]
    engines = sorted({r.record.rollout_engine for r in rows if r.record.rollout_engine})
    if engines:  # a preallocated KV cache is in every RL method's memory peak and pulls the ratios towards 1
        notes.append("rollout engine: " + " | ".join(engines))
    return Table("bench-train-stage", f"Training stage alone, the paper's Table 3 layout ({'GPU' if gpu else 'CPU'}"
                 f"{model})", header, body, notes)


MODEL_ROLES = ("actor", "critic", "gvm", "reference", "reference_gvm", "reward_model", "rollout")
MODELS_IN_ROLE = {"reference_gvm": 2}  # one process holding DVPO's two frozen models


def role_models(row: BenchRow) -> list[RoleModel]:
    """The models the training stage held, by the roles the sampler saw; every model is the policy's size
    (true of the worlds here: critic, reward model and GVM are the SFT backbone with a value head)."""
    stage = row.train_stage()
    seen = stage.metrics.roles if stage else {}
    return [RoleModel(role, (row.params or 0) * MODELS_IN_ROLE.get(role, 1), role in TRAINED_ROLES)
            for role in MODEL_ROLES if role in seen]


def steps_of(stage: StageRecord) -> int | None:
    series = stage.train.get("train/timing/step_total") or stage.train.get("train/loss_mean") or {}
    return series.get("n")


def cpu_per_step(stage: StageRecord, usage: RoleUsage) -> float | None:
    """A role's CPU-seconds per step: over the steady steps (after the first, start-up left out) where the record
    has them, else over the whole stage (older records). Over the whole stage, a method that runs more steps
    (GRPO's groups) spreads its start-up thinner and looks cheaper per step."""
    if usage.cpu_s_steady is not None and stage.metrics.steady_steps:
        return usage.cpu_s_steady / stage.metrics.steady_steps
    steps = steps_of(stage)
    return usage.cpu_s / steps if steps else None


def roles_table(rows: list[BenchRow]) -> Table:
    """The training stage per role: peak PSS (or NVML memory), CPU-seconds per step, and the analytic model's
    bytes per parameter and memory for the models among them (repro/metrics/analytic.py)."""
    body = []
    for r in rows:
        stage = r.train_stage()
        if stage is None or not stage.metrics.roles:
            continue
        zero = r.record.spec.get("rl", {}).get("zero_stage", 2)
        predicted = {m.role: m for m in role_models(r)}
        for role, usage in stage.metrics.roles.items():
            model = predicted.get(role)
            per_param = bytes_per_param(model.trained, zero, 1) if model else None
            body.append(([r.method, role], [
                value(usage.peak_gpu_mib if r.device == "gpu" else usage.peak_pss_mib, ".0f"),
                value(cpu_per_step(stage, usage), ".2f"),
                value(per_param, ".0f"),
                value(per_param * model.params / 2**20 if model and model.params else None, ".1f")]))
    memory = "peak GPU MiB" if rows and all(r.device == "gpu" for r in rows) else "peak PSS MiB"
    notes = ["roles from Ray's actor process titles (repro/metrics/roles.py); driver = the stage's own process, "
             "trainer = OpenRLHF's PPO loop actor (experience making), ray = Ray's daemons and idle workers",
             "CPU-s/step: user + system CPU-seconds of the role's processes per step, between the ends of the "
             "first and the last logged step (start-up, model loading and the warm-up step left out; records "
             "older than that window: over the whole stage, start-up included)",
             "predicted: weights, gradients and Adam states only (16 B/param trained, 2 frozen, ZeRO on one rank); "
             "the measured peak also holds the Python runtime, torch, activations and (rollout) the KV cache"]
    return Table("bench-roles", f"Training stage per role ({devices(rows)})",
                 ["method", "role", memory, "CPU-s/step", "predicted B/param", "predicted MiB"], body, notes)


def prediction_table(rows: list[BenchRow]) -> Table:
    """Each method against the reference (PPO, else the first): predicted vs measured ratios of the models'
    memory and of the work outside generation."""
    ref = next((r for r in rows if r.method == "ppo"), rows[0])

    def measured(r: BenchRow) -> tuple[float | None, float | None]:
        stage = r.train_stage()
        roles = stage.metrics.roles if stage else {}
        models = [u for role, u in roles.items() if role in MODEL_ROLES and role != "rollout"]
        if not models:
            return None, None
        mem = sum((u.peak_gpu_mib if r.device == "gpu" else u.peak_pss_mib) or 0 for u in models)
        work = [cpu_per_step(stage, u) for role, u in roles.items()
                if role in MODEL_ROLES and role != "rollout" or role == "trainer"]
        return mem, None if None in work else sum(work)

    def predicted(r: BenchRow) -> tuple[float | None, float | None]:
        models = [m for m in role_models(r) if m.role != "rollout"]
        if not models or not r.params:
            return None, None
        zero, epochs = r.record.spec.get("rl", {}).get("zero_stage", 2), r.record.spec.get("rl", {}).get("epochs", 1)
        work = predicted_compute(models, epochs, r.record.extra_passes)
        return sum(predicted_memory(models, zero).values()), sum(work.values())

    (ref_mem, ref_work), (ref_pmem, ref_pwork) = measured(ref), predicted(ref)
    body = []
    for r in rows:
        (mem, work), (pmem, pwork) = measured(r), predicted(r)
        body.append(([r.method], [ratio(pmem, ref_pmem), ratio(mem, ref_mem), ratio(pwork, ref_pwork),
                                  ratio(work, ref_work)]))
    notes = [f"ratios to {ref.method}; models = actor, critic or GVM, reference, reward model (rollout engine "
             "apart: identical across RL methods)",
             "memory measured: sum of the model roles' peak PSS (GPU: NVML) — each role's own peak",
             "work predicted: forward-pass equivalents x parameters per sample (a backward = 2 forwards); measured: "
             "CPU-seconds per step of the model roles and the trainer loop (experience making, advantages), as in "
             "the per-role table"]
    return Table("bench-predicted", f"Predicted vs measured, ratios to {ref.method} ({devices(rows)})",
                 ["method", "memory predicted", "memory measured", "work predicted", "work measured"], body, notes)


def bench_tables(rows: list[BenchRow], command: str) -> list[Table]:
    tables = [stages_table(rows, command), train_stage_table(rows)]
    if any(r.train_stage() and r.train_stage().metrics.roles for r in rows):
        tables += [roles_table(rows), prediction_table(rows)]
    return tables

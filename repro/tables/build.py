"""Records -> Table objects: scores, efficiency and the paper's tables. Pure functions.

The only table code in the project: renderers (render.py, plots.py) take these Tables as
they are. Runs whose base-model or data fingerprints differ are refused unless allowed.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from repro.errors import ReproError
from repro.registry import METHODS
from repro.store import RunRecord, StageMetrics, StageRecord
from repro.tables.convergence import converged
from repro.tables.frontier import matched
from repro.tables.schema import Column, ConvergenceDef, FrontierDef, FrontierMetric, PaperRow, ScoresDef, TableDefs
from repro.variants import Group, group_runs, setup_key

SETUP_FINGERPRINTS = ("base_model", "data")


@dataclass
class Cell:
    mean: float | None = None
    std: float | None = None
    n: int = 0
    fmt: str = ".3f"
    best: bool = False

    @classmethod
    def of(cls, values: list[float], fmt: str) -> "Cell":
        if not values:
            return cls(fmt=fmt)
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), std, len(values), fmt)

    def text(self) -> str:
        if self.mean is None:
            return "—"
        out = format(self.mean, self.fmt)
        return f"{out} ± {format(self.std, self.fmt)}" if self.std is not None else out


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[tuple[list[str], list[Cell]]]  # (leading text cells, value cells)
    footnotes: list[str] = field(default_factory=list)

    @property
    def lead_width(self) -> int:
        """Number of leading text columns (method, n ...) before the value columns."""
        return len(self.rows[0][0]) if self.rows else 1


def method_rank(method: str) -> tuple[int, str]:
    """Rows in the registry's order (references first, the method under study last); names it does not
    know (`repro eval --name`, methods from other checkouts) after them, alphabetically."""
    order = METHODS.in_order()
    return (order.index(method) if method in order else len(order), method)


def mark_best(rows: list[list[Cell]], columns: list[Column]) -> None:
    for j, col in enumerate(columns):
        if col.higher_is_better is None:
            continue
        present = [r[j] for r in rows if r[j].mean is not None]
        if len(present) < 2:
            continue
        pick = max if col.higher_is_better else min
        best = pick(c.mean for c in present)
        for c in present:
            c.best = c.mean == best


def check_identical_setup(records: list[RunRecord], allow_mixed: bool = False) -> None:
    """Runs of one setting must share base-model and data fingerprints to share a table."""
    by_setting: dict[str, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        key = tuple(r.fingerprints.get(k) for k in SETUP_FINGERPRINTS)
        by_setting[r.setting][key].append(r.run_id)
    for setting, groups in by_setting.items():
        if len(groups) > 1 and not allow_mixed:
            detail = "; ".join(f"{dict(zip(SETUP_FINGERPRINTS, k))}: {', '.join(sorted(v))}" for k, v in groups.items())
            raise ReproError(f"setting '{setting}' has runs on different base models or data ({detail}). "
                             "They are not comparable; pass --allow-mixed-fingerprints to tabulate them anyway")


def setup_footnotes(records: list[RunRecord]) -> list[str]:
    notes = []
    prints = sorted({", ".join(f"{k} {r.fingerprints.get(k, '?')}" for k in SETUP_FINGERPRINTS) for r in records})
    notes.append("fingerprints: " + " | ".join(prints))
    hardware = Counter(hardware_of(r) for r in records)
    if len(hardware) == 1:
        notes.append(f"hardware: {next(iter(hardware))}")
    else:  # another CPU or GPU kind computes other numbers from the same seed: say how the runs split
        notes.append("hardware (runs of several machine kinds pooled; the same seed gives other numbers on each): "
                     + " | ".join(f"{h}: {n} runs" for h, n in sorted(hardware.items())))
    engines = sorted({r.rollout_engine or "none" for r in records})
    notes.append("rollout-engine memory setting: " + " | ".join(engines))
    return notes


def hardware_of(record: RunRecord) -> str:
    """The machine kinds a run's numbers came from: each stage's own (stages[].machine, in stage order; a
    resumed run may have trained on one machine and evaluated on another), else the launcher's env.json."""
    kinds = list(dict.fromkeys(machine_label(s.machine) for s in record.stages if s.machine))
    return " + ".join(kinds) if kinds else machine_label(record.env)


def machine_label(facts: dict) -> str:
    gpus = facts.get("gpus") or []
    if gpus:
        return f"{len(gpus)}x {gpus[0]}"
    flags = facts.get("cpu_flags") or []  # narrowest first: the last is the widest; older records lack them
    widest = f", {flags[-1]}" if flags else ""
    # Upcast bf16 matmuls (repro.cpu.bf16_matmul) sum in another order than native kernels: another draw.
    upcast = ", bf16 matmul in fp32" if facts.get("cpu_bf16_matmul") == "fp32" else ""
    return f"CPU: {facts.get('cpu', '?')} ({facts.get('cpu_count', '?')} cores{widest}{upcast})"


def device_of(record: RunRecord) -> str:
    return record.spec.get("resources", {}).get("device", "cpu")


def problem_notes(records: list[RunRecord]) -> list[str]:
    """Failed or unfinished runs are gaps, never zeros: say which."""
    return [f"{r.method} seed {r.seed}: {r.status}" + "".join(f" ({s.name} {s.status})" for s in r.stages
                                                            if s.status in ("failed", "interrupted"))
            for r in sorted(records, key=lambda r: (method_rank(r.method), r.seed)) if r.status != "completed"]


def variant_groups(records: list[RunRecord]) -> list[Group]:
    """Runs by (method, variant), methods in registry order, each method's shipped recipe first."""
    return sorted(group_runs(records), key=lambda g: (method_rank(g.method), bool(g.variant), g.label))


def variant_notes(groups: list[Group]) -> list[str]:
    return [f"{g.label}: {g.overrides()}" for g in groups if g.variant or g.label != g.method]


def metric_cells(runs: list[RunRecord], columns: list[Column]) -> list[Cell]:
    """One cell per column over the runs that recorded its metric (a gap where none did)."""
    return [Cell.of([r.metrics[c.metric] for r in runs if c.metric in r.metrics], c.format) for c in columns]


def scores_table(setting: str, records: list[RunRecord], defs: TableDefs) -> Table:
    sdef = defs.scores_for(setting)
    groups = variant_groups(records)
    rows = []
    for g in groups:
        runs = [r for r in g.records if r.status == "completed"]
        cells = metric_cells(runs, sdef.columns)
        rows.append(([g.label, str(len(runs))], cells))
    mark_best([cells for _, cells in rows], sdef.columns)
    notes = ["mean ± std over seeds of one variant (variants never pool); n = completed seeds; bold = best per column"]
    notes += variant_notes(groups) + problem_notes(records) + setup_footnotes(records)
    return Table(f"scores-{setting}", f"{sdef.title} — {setting}", ["method", "n", *[c.display for c in sdef.columns]],
                 rows, notes)


def learned_signals_table(setting: str, records: list[RunRecord], sdef: ScoresDef) -> Table | None:
    """How well each variant's learned judge (reward model, value model) ranks held-out pairs, mean ± std over
    seeds: the policy can only be as good as the signal it follows, so an ablation of the judge is read here
    beside its scores. Variants of one method whose judge metrics are equal seed by seed share one judge (they
    change the policy only) and make one row. None when no run of the setting recorded any of the columns."""
    metrics = [c.metric for c in sdef.columns]
    rows: dict[tuple, tuple[Group, list[RunRecord], list[str]]] = {}
    for g in variant_groups(records):
        runs = [r for r in g.records if r.status == "completed" and set(metrics) & r.metrics.keys()]
        if runs:
            judge = (g.method, tuple(sorted((r.seed, tuple(r.metrics.get(m) for m in metrics)) for r in runs)))
            rows.setdefault(judge, (g, runs, []))[2].append(g.label)
    if not rows:
        return None
    table_rows, notes = [], []
    for g, runs, labels in rows.values():
        cells = metric_cells(runs, sdef.columns)
        more = len(labels) - 1
        label = g.label + (f" (+{more} variant{'s' if more > 1 else ''})" if more else "")
        table_rows.append(([label, str(len(runs))], cells))
        if more:
            notes.append(f"{label}: one judge for " + " | ".join(labels))
    mark_best([cells for _, cells in table_rows], sdef.columns)
    notes = ["mean ± std over seeds; variants whose judge metrics agree seed by seed share one judge and one row; "
             "— = the method has no such model"] + notes + variant_notes([g for g, _, _ in rows.values()])
    return Table(f"learned-signals-{setting}", f"{sdef.title} — {setting}",
                 ["method", "n", *[c.display for c in sdef.columns]], table_rows, notes)


def peak_memory_mib(m: StageMetrics) -> float | None:
    """A stage's memory peak, one measure per device and never a fallback to another: the peak NVML memory
    of its busiest GPU on GPU, else the peak PSS of its process tree (repro bench reports the same)."""
    return max(m.peak_gpu_mem_mib.values()) if m.peak_gpu_mem_mib else m.peak_pss_mib


def steady_mean(values: list[float]) -> float | None:
    """Mean without the first value when there are more: the first RL iteration carries the rollout
    engine's and the optimisers' warm-up, which would dominate a few-step run."""
    steady = values[1:] if len(values) > 1 else values
    return sum(steady) / len(steady) if steady else None


def logged_step_time_s(train: StageRecord) -> float | None:
    """Seconds per RL iteration from OpenRLHF's timing/step_total (rollout, experience, training), warm-up left out."""
    return steady_mean(train.train.get("train/timing/step_total", {}).get("values", []))


def efficiency_metrics(record: RunRecord, convergence: ConvergenceDef | None = None) -> dict[str, float]:
    """Peak memory and time per step of the method's training stage, measured by the shared sampler; with a
    convergence definition and a learning curve, also the steps, samples and seconds it took to converge."""
    stages = {s.name: s for s in record.stages if s.metrics}
    out = {"total_wall_s": sum(s.metrics.wall_s for s in stages.values())}
    done = converged(record.curve, convergence.metric, convergence.tolerance, convergence.window) \
        if convergence else None
    if done:
        out.update(steps_to_converge=done.step, samples_to_converge=done.samples)
        if done.wall_s is not None:
            out["wall_to_converge_s"] = done.wall_s
    train = stages.get(record.train_stage or "")
    if train is None:
        return out
    m = train.metrics
    out["train_wall_s"] = m.wall_s
    peak = peak_memory_mib(m)
    if peak is not None:
        out.update(peak_memory_mib=peak, peak_memory_gib=peak / 1024)
    steps = (train.train.get("train/loss_mean") or next(iter(train.train.values()), {})).get("n")
    if steps:
        # RL stages time their iterations themselves (as repro bench reports them); other trainers' steps
        # are the stage's wall-clock over its steps, start-up and saving included.
        out.update(steps=steps, time_per_step_s=logged_step_time_s(train) or m.wall_s / steps)
    return out


def efficiency_tables(records: list[RunRecord], defs: TableDefs) -> list[Table]:
    edef = defs.efficiency
    ref = edef.reference_method
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.status == "completed":
            groups[(r.setting, device_of(r))].append(r)
    tables = []
    for (setting, device), runs in sorted(groups.items()):
        groups = variant_groups(runs)
        per_group = {g.label: [efficiency_metrics(r, edef.convergence) for r in g.records] for g in groups}
        # Ratios against the reference method as shipped (its variants are rows like any other).
        ref_runs = next((per_group[g.label] for g in groups if g.method == ref and not g.variant), [])
        ref_means = {k: statistics.fmean(d[k] for d in ref_runs if k in d)
                     for k in ("peak_memory_mib", "time_per_step_s") if any(k in d for d in ref_runs)}
        rows = []
        for g in groups:
            ms = per_group[g.label]
            cells = [Cell.of([d[c.metric] for d in ms if c.metric in d], c.format) for c in edef.columns]
            for k in ("peak_memory_mib", "time_per_step_s"):
                mine = [d[k] for d in ms if k in d]
                cells.append(Cell(statistics.fmean(mine) / ref_means[k], None, len(mine), ".2f")
                             if mine and k in ref_means else Cell(fmt=".2f"))
            rows.append(([g.label, str(len(ms))], cells))
        mark_best([cells[: len(edef.columns)] for _, cells in rows], edef.columns)
        notes = [f"{device.upper()} numbers: never compare with the other device's table",
                 "memory: peak NVML memory per GPU" if device == "gpu" else
                 "memory: peak PSS of the training stage's process tree (RSS in the run record)"]
        if not ref_means:
            notes.append(f"ratios need a completed '{ref}' run in this setting; none yet")
        notes.append(edef.convergence.footnote())
        notes += variant_notes(groups) + setup_footnotes(runs)
        header = ["method", "n", *[c.display for c in edef.columns], f"memory / {ref}", f"time/step / {ref}"]
        tables.append(Table(f"efficiency-{setting}-{device}", f"Efficiency — {setting} ({device.upper()})",
                            header, rows, notes))
    return tables


def paper_row_runs(done: list[RunRecord], prow: PaperRow, device: str | None) -> tuple[list[RunRecord], str | None]:
    """The runs that reproduce a paper row: its setting and method (and recipe, if named), the recipe as
    shipped (an ablation is not the paper's method), one record per seed. Runs of several setups never pool
    into one paper number: the row stays empty, with a note saying how to choose."""
    runs = [r for r in done if r.setting == prow.setting and r.method == prow.method and not r.variant
            and (device is None or device_of(r) == device) and (prow.recipe is None or r.recipe == prow.recipe)]
    groups = group_runs(runs)
    if len(groups) > 1:
        recipes = ", ".join(sorted({g.records[0].recipe for g in groups}))
        return [], (f"{prow.label}: runs of {len(groups)} setups ({recipes}) are not pooled; name one as the "
                    f"row's `recipe:` in paper/tables.yaml")
    return (groups[0].records if groups else []), None


def paper_tables(records: list[RunRecord], defs: TableDefs) -> list[Table]:
    done = [r for r in records if r.status == "completed"]
    tables = []
    for key, pdef in defs.paper.items():
        header = ["row"] + [f"{c.display} {part}" for c in pdef.columns for part in ("paper", "ours", "Δ")]
        rows, reproduced, problems = [], 0, []
        for prow in pdef.rows:
            runs, problem = paper_row_runs(done, prow, pdef.device)
            problems += [problem] if problem else []
            reproduced += bool(runs)
            run_values = [{**r.metrics, **efficiency_metrics(r, defs.efficiency.convergence)} for r in runs]
            cells = []
            for col, paper_value in zip(pdef.columns, prow.values):
                ours = Cell.of([v[col.metric] for v in run_values if col.metric in v], col.format)
                delta = Cell(ours.mean - paper_value, None, ours.n, "+" + col.format) \
                    if ours.mean is not None and paper_value is not None else Cell(fmt=col.format)
                cells += [Cell(paper_value, None, 1, col.format) if paper_value is not None else Cell(fmt=col.format),
                          ours, delta]
            rows.append(([prow.label], cells))
        notes = [f"{reproduced} of {len(pdef.rows)} rows reproduced; '—' = no completed run yet", *problems]
        tables.append(Table(f"paper-{key}", pdef.title, header, rows, notes))
    return tables


def seed_starts(runs: list[RunRecord], fmetric: FrontierMetric) -> dict[int, float]:
    """SFT's value per seed (the frontier's start at KL 0): fixed, or read from that seed's runs."""
    if fmetric.start_value is not None:
        return {r.seed: fmetric.start_value for r in runs}
    by_seed: dict[int, list[float]] = defaultdict(list)
    for r in runs:
        if fmetric.start_metric in r.metrics:
            by_seed[r.seed].append(r.metrics[fmetric.start_metric])
    return {seed: statistics.fmean(values) for seed, values in by_seed.items()}


def frontier_tables(setting: str, records: list[RunRecord], fdef: FrontierDef) -> list[Table]:
    """Per frontier metric, each method's value at each KL budget along its per-seed frontier, mean ± std over
    seeds; a gap unless every seed's frontier reaches the budget."""
    done = [r for r in records if r.status == "completed" and fdef.kl_metric in r.metrics and r.method != "sft"]
    methods = sorted({r.method for r in done}, key=method_rank)
    tables = []
    for fm in fdef.metrics:
        starts = seed_starts(done, fm)
        rows = []
        for m in methods:
            runs = [r for r in done if r.method == m and fm.metric in r.metrics and r.seed in starts]
            seeds = sorted({r.seed for r in runs})
            per_seed = [matched([(r.metrics[fdef.kl_metric], r.metrics[fm.metric]) for r in runs if r.seed == s],
                                (0.0, starts[s]), fdef.budgets) for s in seeds]
            cells = [Cell.of([v[i] for v in per_seed], fm.format) if per_seed and all(v[i] is not None for v in per_seed)
                     else Cell(fmt=fm.format) for i in range(len(fdef.budgets))]
            variants = len({setup_key(r.spec, m) for r in runs})
            rows.append(([m, str(variants), str(len(seeds))], cells))
        mark_best([cells for _, cells in rows], [Column(metric=fm.metric, display="", higher_is_better=True)]
                  * len(fdef.budgets))
        notes = [f"{fm.display} read off each seed's {fm.display}-vs-{fdef.kl_metric} Pareto frontier (every variant "
                 "of the method a point, SFT the start at KL 0), linear between points, flat past the last one up "
                 "to the largest KL reached; mean ± std over seeds; '—' = some seed never reached that KL",
                 *setup_footnotes(done)]
        slug = fm.metric.replace("/", "-")
        tables.append(Table(f"matched-kl-{setting}-{slug}", f"{fm.display} at matched KL — {setting}",
                            ["method", "variants", "seeds", *[f"KL ≤ {b:g}" for b in fdef.budgets]], rows, notes))
    return tables


def build_all(records: list[RunRecord], defs: TableDefs, allow_mixed: bool = False) -> list[Table]:
    check_identical_setup(records, allow_mixed)
    by_setting: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_setting[r.setting].append(r)
    tables = [scores_table(s, rs, defs) for s, rs in sorted(by_setting.items())]
    frontiers = [t for s, rs in sorted(by_setting.items()) if s in defs.frontiers
                 for t in frontier_tables(s, rs, defs.frontiers[s])]
    signals = [learned_signals_table(s, rs, defs.learned_signals) for s, rs in sorted(by_setting.items())
               if defs.learned_signals]
    return tables + [t for t in signals if t] + frontiers + efficiency_tables(records, defs) + paper_tables(records, defs)

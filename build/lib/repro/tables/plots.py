"""PNG plots from run records: reward vs KL, reward vs wall-clock, memory and time bars, learning curves.

Reads the same efficiency metrics as the tables (build.efficiency_metrics); no second copy.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from repro.store import RunRecord
from repro.tables.build import device_of, efficiency_metrics, method_rank, seed_starts
from repro.tables.convergence import converged_index
from repro.tables.frontier import pareto_frontier
from repro.tables.schema import ConvergenceDef, FrontierDef, FrontierMetric
from repro.variants import group_runs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter(records: list[RunRecord], x_of, x_label: str, title: str, path: Path) -> Path | None:
    points = defaultdict(list)
    for r in records:
        x, y = x_of(r), r.metrics.get("gold/reward_mean")
        if r.status == "completed" and x is not None and y is not None:
            points[r.method].append((x, y))
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method in sorted(points, key=method_rank):
        xs, ys = zip(*points[method])
        ax.scatter(xs, ys, label=method, s=28)
    ax.set_xlabel(x_label)
    ax.set_ylabel("gold reward")
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def efficiency_bars(records: list[RunRecord], title: str, path: Path, memory_label: str) -> Path | None:
    per_method = defaultdict(list)
    for r in records:
        if r.status == "completed":
            per_method[r.method].append(efficiency_metrics(r))
    methods = [m for m in sorted(per_method, key=method_rank) if any("peak_memory_mib" in d for d in per_method[m])]
    if not methods:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, label in ((axes[0], "peak_memory_mib", memory_label),
                           (axes[1], "train_wall_s", "training stage wall-clock (s)")):
        means = [sum(d.get(key, 0) for d in per_method[m]) / len(per_method[m]) for m in methods]
        ax.bar(methods, means, color="#4C72B0")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def mean_curve(runs: list[RunRecord], metric: str) -> list[tuple[int, float | None, float, float]]:
    """(step, mean wall-clock, mean metric, std metric) over the seeds, at the steps every seed evaluated."""
    import statistics

    per_run = [{p.step: p for p in r.curve if metric in p.metrics} for r in runs]
    steps = sorted(set.intersection(*(set(c) for c in per_run))) if per_run else []
    out = []
    for step in steps:
        ys = [c[step].metrics[metric] for c in per_run]
        walls = [c[step].wall_s for c in per_run if c[step].wall_s is not None]
        out.append((step, statistics.fmean(walls) if len(walls) == len(ys) else None, statistics.fmean(ys),
                    statistics.stdev(ys) if len(ys) > 1 else 0.0))
    return out


def learning_curves(records: list[RunRecord], convergence: ConvergenceDef, title: str, path: Path) -> Path | None:
    """The metric vs training step and vs wall-clock, per method (mean over seeds, band = ± std); the mean
    curve's converged point is circled (the table's per-seed values are what the efficiency table reports)."""
    per_method = defaultdict(list)
    for r in records:
        if r.status == "completed" and r.curve:
            per_method[r.method].append(r)
    curves = {m: mean_curve(runs, convergence.metric) for m, runs in per_method.items()}
    curves = {m: c for m, c in curves.items() if len(c) > 1}
    if not curves:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for method in sorted(curves, key=method_rank):
        steps, walls, ys, sds = zip(*curves[method])
        at = converged_index(list(ys), convergence.tolerance, convergence.window)
        for ax, xs in ((axes[0], steps), (axes[1], walls)):
            if any(x is None for x in xs):
                continue
            line, = ax.plot(xs, ys, marker=".", label=method)
            ax.fill_between(xs, [y - s for y, s in zip(ys, sds)], [y + s for y, s in zip(ys, sds)],
                            color=line.get_color(), alpha=0.15)
            if at is not None:
                ax.scatter([xs[at]], [ys[at]], s=90, facecolors="none", edgecolors=line.get_color())
    axes[0].set_xlabel("training step")
    axes[1].set_xlabel("wall-clock since the training stage started (s)")
    for ax in axes:
        ax.set_ylabel(convergence.metric)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def frontier_plot(records: list[RunRecord], fdef: FrontierDef, fmetric: FrontierMetric, title: str,
                  path: Path) -> Path | None:
    """Every variant a point (± std over seeds on both axes), each method's Pareto frontier over its variants'
    means from SFT at KL 0 (the mean of the per-seed starts)."""
    import statistics

    runs = [r for r in records if r.status == "completed" and r.method != "sft"
            and fdef.kl_metric in r.metrics and fmetric.metric in r.metrics]
    starts = seed_starts(runs, fmetric)
    if not runs or not starts:
        return None
    start = (0.0, statistics.fmean(starts.values()))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter([start[0]], [start[1]], marker="*", s=120, color="black", label="sft", zorder=3)
    for method in sorted({r.method for r in runs}, key=method_rank):
        means = []
        for g in group_runs([r for r in runs if r.method == method]):
            xs = [r.metrics[fdef.kl_metric] for r in g.records]
            ys = [r.metrics[fmetric.metric] for r in g.records]
            sd = (lambda v: statistics.stdev(v) if len(v) > 1 else 0.0)  # noqa: E731
            means.append((statistics.fmean(xs), statistics.fmean(ys), sd(xs), sd(ys)))
        bars = ax.errorbar([m[0] for m in means], [m[1] for m in means], xerr=[m[2] for m in means],
                           yerr=[m[3] for m in means], fmt="o", ms=4, capsize=2, label=method)
        line = pareto_frontier([start, *[(x, y) for x, y, _, _ in means]])
        ax.plot([p[0] for p in line], [p[1] for p in line], color=bars[0].get_color(), alpha=0.7)
    ax.set_xlabel(f"KL to SFT ({fdef.kl_metric})")
    ax.set_ylabel(fmetric.display)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_setting(setting: str, records: list[RunRecord], out: Path,
                 convergence: ConvergenceDef = ConvergenceDef(), frontier: FrontierDef | None = None) -> list[Path]:
    """Plots for one setting on one device kind (callers split CPU and GPU runs)."""
    devices = {device_of(r) for r in records}
    assert len(devices) <= 1, f"plot one device kind at a time, got {devices}"
    device = devices.pop().upper() if devices else "CPU"
    setting = f"{setting}-{device.lower()}"
    made = [
        scatter(records, lambda r: r.metrics.get("gold/kl_to_sft"), "KL to SFT (nats)",
                f"{setting}: reward vs KL", out / f"{setting}-reward-vs-kl.png"),
        scatter(records, lambda r: efficiency_metrics(r)["total_wall_s"], "total wall-clock (s)",
                f"{setting}: reward vs time", out / f"{setting}-reward-vs-time.png"),
        efficiency_bars(records, f"{setting}: memory and time", out / f"{setting}-efficiency.png",
                        "peak GPU memory per GPU (MiB)" if device == "GPU" else "peak PSS of training stage (MiB)"),
        learning_curves(records, convergence, f"{setting}: learning curves (circle: converged)",
                        out / f"{setting}-learning-curves.png"),
        *[frontier_plot(records, frontier, fm, f"{setting}: {fm.display} vs KL frontier",
                        out / f"{setting}-frontier-{fm.metric.replace('/', '-')}.png")
          for fm in (frontier.metrics if frontier else [])],
    ]
    return [p for p in made if p]

"""Launch a sweep (repro/sweep.py's runs): locally as `repro run` children under admission, or on Slurm as
one job array per (method, stage) over that method's runs (grid points and seeds).

Each sweep has a folder, <results>/sweeps/<key>/, holding sweep.json (its runs) and one log per local run.
A re-run of the same sweep resumes: every run skips the stages it completed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from rich.console import Console

from repro.errors import ReproError
from repro.launch.local import stop_signals_interrupt
from repro.launch.pool import Job, run_pool
from repro.layout import default_results_root
from repro.runs import Plan, plan_run
from repro.store import atomic_write_json
from repro.sweep import SweepRun


def sweep_folder(results: Path, recipe: str, overrides: tuple[str, ...], runs: list[SweepRun]) -> Path:
    text = json.dumps([recipe, list(overrides), [(r.method, r.seed, list(r.grid)) for r in runs]])
    return results / "sweeps" / hashlib.sha256(text.encode()).hexdigest()[:10]


def plan_sweep(runs: list[SweepRun], recipe: str, overrides: tuple[str, ...], results: Path | None) -> list[Plan]:
    return [plan_run(r.method, recipe, r.seed, (*overrides, *r.grid), results) for r in runs]


def render_sweep(runs: list[SweepRun], plans: list[Plan], recipe: str, launcher: str, jobs: int) -> str:
    """The dry run: every run of the sweep, one line each."""
    how = (f"local, at most {jobs} run(s) at once (admitted by their resources.cpus and resources.mem_gb)"
           if launcher == "local" else f"{launcher}, one job array per (method, stage) over that method's runs")
    lines = [f"# sweep: recipe {recipe}, {len(runs)} runs; {how}",
             f"# results: {plans[0].layout.root if plans else '-'}"]
    width = max((len(p.layout.run_id) for p in plans), default=0)
    for run, plan in zip(runs, plans):
        lines.append(f"{plan.layout.run_id:<{width}}  {run.method:<12} seed {run.seed}  {' '.join(run.grid) or '-'}")
    return "\n".join(lines) + "\n"


def child_argv(run: SweepRun, recipe: str, overrides: tuple[str, ...], results: Path) -> list[str]:
    """The `repro run` of one sweep run (an argv list: no shell sees the user's strings)."""
    return [sys.executable, "-m", "repro.cli", "run", "--method", run.method, "--recipe", recipe,
            "--seed", str(run.seed), "--results", str(results), "--", *overrides, *run.grid]


def launch_sweep(runs: list[SweepRun], recipe: str, overrides: tuple[str, ...], results: Path | None,
                 launcher: str, profile: str | None, jobs: int, dry_run: bool, console: Console,
                 execute) -> str | None:
    """Dry run: the listing. Slurm: `execute` each method's plans (one array per stage). Local: the pool."""
    plans = plan_sweep(runs, recipe, overrides, results)  # validates every run before anything starts
    if dry_run:
        return render_sweep(runs, plans, recipe, launcher, jobs)
    root = results or default_results_root()
    folder = sweep_folder(root, recipe, overrides, runs)
    atomic_write_json(folder / "sweep.json", {
        "recipe": recipe, "overrides": list(overrides),
        "runs": [{"run_id": p.layout.run_id, "method": r.method, "seed": r.seed, "grid": list(r.grid)}
                 for r, p in zip(runs, plans)]})
    console.print(f"sweep of {len(runs)} runs: {folder}")
    if launcher != "local":
        for method in dict.fromkeys(r.method for r in runs):
            execute([p for r, p in zip(runs, plans) if r.method == method], launcher, False, False, profile)
        return None
    pool = [Job(p.layout.run_id, child_argv(r, recipe, overrides, root), p.spec.resources.cpus,
                p.spec.resources.mem_gb, folder / "logs" / f"{p.layout.run_id}.log") for r, p in zip(runs, plans)]
    with stop_signals_interrupt():
        codes = run_pool(pool, jobs, console)
    failed = [name for name, code in codes.items() if code != 0]
    if failed:
        raise ReproError(f"{len(failed)} of {len(runs)} runs did not complete: {', '.join(failed)}; logs in "
                         f"{folder / 'logs'}; re-run the sweep to resume them")
    return None

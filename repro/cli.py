"""The `repro` command line: thin wrappers that parse, call, and print.

Nothing here imports torch: commands that train do so in stage subprocesses.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from repro.errors import ReproError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Reproduce DVPO and its baselines on identical models and data, locally or on Slurm.")
# Piped output (logs, tests) gets wide tables instead of rich's 80-column default.
out = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)

ResultsOpt = Annotated[Optional[Path], typer.Option("--results", help="results root (default ./results or $REPRO_RESULTS)")]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="Slurm cluster profile (slurm/profiles/NAME.yaml)")]
ArchiveOpt = Annotated[Optional[list[Path]], typer.Option(
    "--archive", help="also tabulate the records archived in this folder (repeatable; see `repro archive`)")]
Overrides = Annotated[Optional[list[str]], typer.Argument(help="recipe overrides, e.g. sft.lr=3e-4 seed=1")]


def friendly_errors(fn):
    """Errors a user can act on print as one message and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ReproError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False, markup=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt as e:
            err.print("[yellow]interrupted[/yellow]: the record keeps what finished; re-run to resume")
            raise typer.Exit(getattr(e, "exit_code", 130)) from None

    return wrapper


class Listable(str, Enum):
    methods = "methods"
    recipes = "recipes"
    worlds = "worlds"
    evaluators = "evaluators"
    launchers = "launchers"


@app.command("ls")
@friendly_errors
def ls(what: Annotated[Listable, typer.Argument(help="what to list")] = Listable.methods) -> None:
    """List registered methods, recipes, worlds, evaluators or launchers."""
    from repro.recipes import recipe_names
    from repro.registry import EVALUATORS, LAUNCHERS, METHODS, WORLDS

    if what is Listable.recipes:
        for name in recipe_names():
            out.print(name)
        return
    registry = {"methods": METHODS, "worlds": WORLDS, "evaluators": EVALUATORS, "launchers": LAUNCHERS}[what.value]
    for name in registry.names():
        out.print(f"{name:16s} {registry.target(name)}")


@app.command()
@friendly_errors
def validate(recipe: Annotated[str, typer.Argument(help="recipe name (e.g. imdb, imdb/smoke) or YAML path")],
             overrides: Overrides = None, profile: ProfileOpt = None) -> None:
    """Load a recipe with its includes and overrides (and a Slurm profile), and check every key."""
    from repro.recipes import load_recipe

    if profile:
        from repro.launch.profiles import load_profile

        load_profile(profile)
        out.print(f"[green]ok[/green] profile {profile}")
    spec = load_recipe(recipe, overrides or [])
    out.print(f"[green]ok[/green] {recipe}: setting {spec.setting}, methods configured: "
              f"{', '.join(sorted(spec.methods)) or '-'}")


LauncherOpt = Annotated[str, typer.Option("--launcher", help="where stages run: local, slurm (`repro ls launchers`)")]


@app.command(context_settings={"allow_extra_args": False})
@friendly_errors
def run(
    method: Annotated[str, typer.Option("--method", "-m", help="registered method, see `repro ls methods`")],
    overrides: Overrides = None,
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="recipe name or YAML path")] = "imdb",
    seed: Annotated[Optional[int], typer.Option(help="overrides the recipe's seed")] = None,
    launcher: LauncherOpt = "local",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every stage's env and command; run nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="re-run every stage, also completed and shared ones")] = False,
    profile: ProfileOpt = None,
    results: ResultsOpt = None,
) -> None:
    """Run a method end to end: world, SFT, method stages, evaluation."""
    from repro.runs import plan_run

    execute([plan_run(method, recipe, seed, tuple(overrides or ()), results)], launcher, dry_run, force, profile)


@app.command("eval", context_settings={"allow_extra_args": False})
@friendly_errors
def eval_checkpoint(
    model: Annotated[Path, typer.Option("--model", help="Hugging Face model folder trained elsewhere")],
    overrides: Overrides = None,
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="recipe whose world, SFT reference and eval "
                                                               "section to use")] = "imdb",
    name: Annotated[Optional[str], typer.Option(help="method name in the record and tables (default: "
                                                     "checkpoint:<folder name>)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="overrides the recipe's seed (which SFT reference)")] = None,
    launcher: LauncherOpt = "local",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every stage's env and command; run nothing")] = False,
    profile: ProfileOpt = None,
    results: ResultsOpt = None,
) -> None:
    """Evaluate a checkpoint trained elsewhere with the recipe's evaluators, against its SFT policy."""
    from repro.runs import plan_run

    path = model.expanduser().resolve()
    plan = plan_run("checkpoint", recipe, seed, (*(overrides or ()), f"methods.checkpoint.path={path}"), results)
    plan.label = name or f"checkpoint:{path.name}"
    execute([plan], launcher, dry_run, False, profile)


def execute(plans, launcher_name: str, dry_run: bool, force: bool, profile: str | None) -> None:
    """Hand plans to a launcher: print what it would do (--dry-run), or run/submit them and report."""
    from repro.registry import LAUNCHERS

    launcher = LAUNCHERS.get(launcher_name)(err, profile)
    if dry_run:
        sys.stdout.write(launcher.dry_run(plans))
        return
    for record in launcher.launch(plans, force):
        if record.status == "submitted":
            out.print(f"{record.run_id}: " + ", ".join(f"{s.name}={s.job_id}" for s in record.stages))
        else:
            print_metrics(record.metrics)


@app.command()
@friendly_errors
def sweep(
    methods: Annotated[str, typer.Option(help="comma-separated methods")],
    seeds: Annotated[str, typer.Option(help="comma-separated seeds, e.g. 0,1,2")] = "0",
    grid: Annotated[Optional[list[str]], typer.Option(
        "--grid", help="KEY=V1,V2,... (repeatable): cartesian over keys, each applied to the methods whose "
                       "config it names, e.g. methods.dpo.beta=0.05,0.1 rl.kl_coef=0.02,0.05")] = None,
    overrides: Overrides = None,
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="recipe name or YAML path")] = "imdb",
    launcher: LauncherOpt = "slurm",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="local: runs at once, admitted by each run's "
                                                                  "resources.cpus and mem_gb")] = 1,
    profile: ProfileOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list every run; run or submit nothing")] = False,
    results: ResultsOpt = None,
) -> None:
    """Every method x grid point x seed: locally as concurrent runs, on Slurm one job array per (method, stage)."""
    from repro.launch.sweep import launch_sweep
    from repro.registry import METHODS
    from repro.sweep import GridKey, sweep_runs

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    sections = {m: METHODS.get(m).sections for m in method_list}
    runs = sweep_runs(method_list, [int(x) for x in seeds.split(",") if x.strip()],
                      [GridKey.parse(g) for g in grid or []], sections)
    listing = launch_sweep(runs, recipe, tuple(overrides or ()), results, launcher, profile, jobs, dry_run, err,
                           execute)
    if listing:
        sys.stdout.write(listing)


@app.command()
@friendly_errors
def cancel(run_id: Annotated[str, typer.Argument(help="a run submitted to Slurm")], results: ResultsOpt = None) -> None:
    """Cancel a launched run's queued and running jobs (Slurm)."""
    from repro.registry import LAUNCHERS
    from repro.store import save_record

    record, path = find_record(run_id, results)
    jobs = LAUNCHERS.get(record.launcher)(err).cancel(record)
    for s in record.stages:
        if s.job_id in jobs:
            s.status = "cancelled"
    record.status = "cancelled"
    save_record(record, path)
    out.print(f"cancelled {len(jobs)} job(s): {' '.join(jobs) or '-'}")


def find_record(run_id: str, results: Path | None):
    from repro.errors import UnknownNameError
    from repro.layout import Layout, default_results_root
    from repro.store import list_records

    layout = Layout(results or default_results_root(), run_id)
    if not layout.record_path.is_file():
        raise UnknownNameError("run", run_id, [r.run_id for r in list_records(results or default_results_root())])
    from repro.store import load_record

    return load_record(layout.record_path), layout.record_path


@app.command()
@friendly_errors
def bench(
    methods: Annotated[str, typer.Option(help="comma-separated methods, run one after the other")] = "dpo",
    overrides: Overrides = None,
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="recipe name or YAML path")] = "imdb",
    seed: Annotated[Optional[int], typer.Option(help="overrides the recipe's seed")] = None,
    keep: Annotated[Optional[Path], typer.Option(help="keep every method's run under this folder (default: a temp "
                                                      "dir, deleted once its numbers are read); a re-run with "
                                                      "the same folder reuses the methods already measured")] = None,
    out_md: Annotated[Optional[Path], typer.Option("--out", help="also write the Markdown table here")] = None,
) -> None:
    """Time every stage of each method from scratch (warm installs), side by side."""
    from repro.bench import bench as run_bench
    from repro.bench import render_markdown

    names = [m.strip() for m in methods.split(",") if m.strip()]
    rows = run_bench(names, recipe, seed, tuple(overrides or ()), keep)
    command = " ".join(["repro bench", f"--methods {methods}", f"--recipe {recipe}"]
                       + ([f"--seed {seed}"] if seed is not None else []) + list(overrides or []))
    text = render_markdown(rows, command)
    sys.stdout.write(text)
    if out_md:
        from repro.store import atomic_write_text

        atomic_write_text(out_md, text)


class TableFormat(str, Enum):
    md = "md"
    tex = "tex"
    csv = "csv"
    html = "html"
    png = "png"


@app.command()
@friendly_errors
def tables(
    recipe: Annotated[Optional[str], typer.Option("--recipe", "-r", help="only this recipe's setting")] = None,
    fmt: Annotated[Optional[list[TableFormat]], typer.Option("--format", "-f", help="repeatable; default md")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="write files here (default: print Markdown)")] = None,
    allow_mixed: Annotated[bool, typer.Option("--allow-mixed-fingerprints",
                                              help="tabulate runs whose base model or data differ")] = False,
    results: ResultsOpt = None,
    archive: ArchiveOpt = None,
) -> None:
    """Comparison tables (scores, efficiency, the paper's tables) and plots from run records."""
    from repro.tables.write import write_tables

    texts = write_tables(results, recipe, [f.value for f in fmt or [TableFormat.md]], out_dir, allow_mixed,
                         tuple(archive or ()))
    sys.stdout.write(("\n" if out_dir else "\n\n").join(t.rstrip("\n") for t in texts) + "\n")


@app.command()
@friendly_errors
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="folder for <setting>.html")],
    recipe: Annotated[Optional[str], typer.Option("--recipe", "-r", help="only this recipe's setting")] = None,
    allow_mixed: Annotated[bool, typer.Option("--allow-mixed-fingerprints",
                                              help="tabulate runs whose base model or data differ")] = False,
    results: ResultsOpt = None,
    archive: ArchiveOpt = None,
) -> None:
    """One self-contained HTML page per setting: its tables and plots, the paper's tables beside ours."""
    from repro.tables.report import write_reports

    for path in write_reports(results, recipe, out_dir, allow_mixed, tuple(archive or ())):
        out.print(f"wrote {path}")


@app.command("archive")
@friendly_errors
def archive_cmd(
    dest: Annotated[Path, typer.Option("--to", help="archive folder, e.g. results/imdb-frontier/records")],
    recipe: Annotated[Optional[str], typer.Option("--recipe", "-r", help="only this recipe's setting")] = None,
    results: ResultsOpt = None,
) -> None:
    """Copy completed runs' records into a folder you commit, so later sessions' seeds pool with them."""
    from repro.archive import archive_records
    from repro.tables.write import select_records

    written = archive_records(select_records(results, recipe), dest)
    out.print(f"archived {len(written)} record(s) into {dest}")


def print_metrics(metrics: dict[str, float]) -> None:
    table = Table("metric", "value", title="evaluation")
    for k, v in sorted(metrics.items()):
        table.add_row(k, f"{v:.4f}")
    out.print(table)


@app.command()
@friendly_errors
def status(run_id: Annotated[Optional[str], typer.Argument(help="a run id; omit to list runs")] = None,
           results: ResultsOpt = None) -> None:
    """Show runs, or one run's stages with time and peak memory."""
    if run_id is None:
        from repro.layout import default_results_root
        from repro.store import list_records

        records = list_records(results or default_results_root())
        table = Table("run", "method", "seed", "status", "stages", "gold reward")
        for r in records:
            done = sum(s.status in ("completed", "skipped") for s in r.stages)
            reward = r.metrics.get("gold/reward_mean")
            table.add_row(r.run_id, r.method, str(r.seed), r.status, f"{done}/{len(r.stages)}",
                          "-" if reward is None else f"{reward:.3f}")
        out.print(table)
        return
    from repro.registry import LAUNCHERS

    record, _ = find_record(run_id, results)
    record = LAUNCHERS.get(record.launcher)(err).refresh(record)
    table = Table("stage", "status", "job", "wall s", "peak RSS MiB", "peak PSS MiB", "peak GPU MiB", "tok/s",
                  title=f"{record.run_id}: {record.status}")
    for s in record.stages:
        m = s.metrics
        gpu = "-" if not (m and m.peak_gpu_mem_mib) else ", ".join(f"{v:.0f}" for v in m.peak_gpu_mem_mib.values())
        table.add_row(s.name + (" (shared)" if s.shared else ""), s.status, s.job_id or "-",
                      f"{m.wall_s:.1f}" if m else "-", f"{m.peak_rss_mib:.0f}" if m else "-",
                      f"{m.peak_pss_mib:.0f}" if m and m.peak_pss_mib is not None else "-", gpu,
                      f"{m.tokens_per_s:.0f}" if m and m.tokens_per_s else "-")
    out.print(table)
    for s in record.stages:
        if s.status in ("failed", "interrupted") and s.log_tail:
            err.print(f"[red]{s.name} {s.status}[/red] (exit {s.exit_code}); log tail:")
            err.print(s.log_tail, markup=False, highlight=False)
    if record.metrics:
        print_metrics(record.metrics)


if __name__ == "__main__":
    app()

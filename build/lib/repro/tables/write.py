"""`repro tables`: select records, build every table once, render each requested format."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from repro.errors import ReproError
from repro.layout import default_results_root
from repro.archive import pooled_records
from repro.store import atomic_write_text
from repro.tables.build import build_all, device_of
from repro.tables.render import RENDERERS
from repro.tables.schema import TableDefs, load_table_defs


def select_records(results: Path | None, recipe: str | None, archives: tuple[Path, ...] = ()) -> list:
    """The run records to tabulate (the results root's, pooled with archived ones): all, or one recipe's
    setting; none is an error that says what to do."""
    records = pooled_records([results or default_results_root(), *archives])
    if recipe:
        from repro.recipes import load_recipe

        setting = load_recipe(recipe).setting
        records = [r for r in records if r.setting == setting]
    if not records:
        raise ReproError("no run records found" + (f" for recipe '{recipe}'" if recipe else "")
                         + "; run `repro run --method M` first")
    return records


def write_tables(results: Path | None, recipe: str | None, formats: list[str], out_dir: Path | None,
                 allow_mixed: bool = False, archives: tuple[Path, ...] = ()) -> list[str]:
    """Returns what to print: the Markdown tables when out_dir is None, else the files written."""
    records = select_records(results, recipe, archives)
    defs = load_table_defs()
    tables = build_all(records, defs, allow_mixed)
    if out_dir is None:
        if formats != ["md"]:
            raise ReproError("formats other than md need --out DIR")
        return [RENDERERS["md"](t) for t in tables]
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        if fmt == "png":
            written += plot_all(records, out_dir, defs)
            continue
        for t in tables:
            path = out_dir / f"{t.key}.{fmt}"
            atomic_write_text(path, RENDERERS[fmt](t))
            written.append(path)
    return [f"wrote {p}" for p in written]


def plot_all(records, out_dir: Path, defs: TableDefs) -> list[Path]:
    from repro.tables.plots import plot_setting

    groups = defaultdict(list)
    for r in records:
        groups[(r.setting, device_of(r))].append(r)
    return [p for (setting, _), rs in sorted(groups.items())
            for p in plot_setting(setting, rs, out_dir, defs.efficiency.convergence, defs.frontiers.get(setting))]

"""`repro report`: one self-contained HTML page per setting, from the same tables and plots as `repro tables`.

The page holds the setting's tables (scores, matched-KL frontiers, efficiency per device kind), its plots
inlined as PNG data (learning curves, frontiers, reward vs KL and time, efficiency bars), the paper's tables
with our numbers beside theirs, and the fingerprints and hardware in the footnotes. Nothing is fetched when
the page opens: no scripts, no external files.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections import defaultdict
from pathlib import Path

from repro.store import atomic_write_text
from repro.tables.build import build_all, device_of
from repro.tables.render import to_html
from repro.tables.schema import load_table_defs
from repro.tables.write import select_records

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1.5em 0 .3em}caption{font-weight:600;text-align:left;padding:.3em 0}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em}th{background:#f3f3f3}td.num{text-align:right}
ul.notes{font-size:.8em;color:#555;margin-top:0}img{max-width:100%;margin:1em 0;border:1px solid #eee}"""


def image_tag(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"></figure>\n'


def page(setting: str, tables_html: list[str], images: list[Path]) -> str:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(setting)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(setting)}</h1>\n"
            + "".join(tables_html) + "<h2>Plots</h2>\n" + "".join(map(image_tag, images)) + "</body></html>\n")


def write_reports(results: Path | None, recipe: str | None, out_dir: Path, allow_mixed: bool = False,
                  archives: tuple[Path, ...] = ()) -> list[Path]:
    from repro.tables.plots import plot_setting

    records, defs = select_records(results, recipe, archives), load_table_defs()
    by_setting = defaultdict(list)
    for r in records:
        by_setting[r.setting].append(r)
    written = []
    for setting, runs in sorted(by_setting.items()):
        tables = build_all(runs, defs, allow_mixed)
        with tempfile.TemporaryDirectory() as tmp:
            images = []
            for device in sorted({device_of(r) for r in runs}):
                images += plot_setting(setting, [r for r in runs if device_of(r) == device], Path(tmp),
                                       defs.efficiency.convergence, defs.frontiers.get(setting))
            text = page(setting, [to_html(t) for t in tables], images)
        path = out_dir / f"{setting}.html"
        atomic_write_text(path, text)
        written.append(path)
    return written

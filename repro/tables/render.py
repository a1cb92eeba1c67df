"""Render Tables as Markdown, LaTeX (booktabs) or CSV. No table logic lives here."""

from __future__ import annotations

import csv
import io

from repro.tables.build import Cell, Table

LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                 "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in text).replace("±", r"$\pm$").replace("—", "--") \
        .replace("Δ", r"$\Delta$")


def to_markdown(table: Table) -> str:
    def cell(c: Cell) -> str:
        return f"**{c.text()}**" if c.best else c.text()

    lines = [f"### {table.title}", "", "| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    for lead, cells in table.rows:
        lines.append("| " + " | ".join([*lead, *map(cell, cells)]) + " |")
    lines.append("")
    lines += [f"- {note}" for note in table.footnotes]
    return "\n".join(lines) + "\n"


def to_latex(table: Table) -> str:
    def cell(c: Cell) -> str:
        text = latex_escape(c.text())
        return rf"\textbf{{{text}}}" if c.best else text

    cols = "l" * table.lead_width + "r" * (len(table.header) - table.lead_width)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(table.title)}}}",
             rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(map(latex_escape, table.header)) + r" \\",
             r"\midrule"]
    for lead, cells in table.rows:
        lines.append(" & ".join([*map(latex_escape, lead), *map(cell, cells)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.footnotes:
        lines.append(r"\par\footnotesize " + r" \\ ".join(map(latex_escape, table.footnotes)))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Raw numbers for further analysis: mean, std and n for every value column."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    n_lead = table.lead_width
    value_headers = table.header[n_lead:]
    writer.writerow([*table.header[:n_lead], *[f"{h} {part}" for h in value_headers for part in ("mean", "std", "n")]])
    for lead, cells in table.rows:
        writer.writerow([*lead, *[x for c in cells for x in ("" if c.mean is None else repr(c.mean),
                                                              "" if c.std is None else repr(c.std), c.n)]])
    return buf.getvalue()


RENDERERS = {"md": to_markdown, "tex": to_latex, "csv": to_csv}

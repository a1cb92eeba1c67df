"""Render Tables as Markdown, LaTeX (booktabs), CSV or HTML. No table logic lives here."""

from __future__ import annotations

import csv
import html
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


def to_html(table: Table) -> str:
    """A <table> with its title as caption and footnotes below (text escaped; best values bold)."""
    def cell(c: Cell) -> str:
        text = html.escape(c.text())
        return f"<td class=num><b>{text}</b></td>" if c.best else f"<td class=num>{text}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in lead) + "".join(map(cell, cells)) + "</tr>"
                   for lead, cells in table.rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.footnotes)
    return (f'<section id="{html.escape(table.key)}"><table><caption>{html.escape(table.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><ul class=notes>{notes}</ul></section>\n")


RENDERERS = {"md": to_markdown, "tex": to_latex, "csv": to_csv, "html": to_html}

"""Keep the records behind committed tables in the repository.

Run folders (results/runs) are never committed, so seeds run in one session could not pool with seeds run in
a later one. An archive is a folder laid out like a results root (<dir>/runs/<run_id>/record.json) holding
only completed runs' records: small, self-contained (metrics, curve, spec, variant, stage timings), and enough
for every table and plot. `repro tables --archive DIR` pools it with the live runs.
"""

from __future__ import annotations

from pathlib import Path

from repro.store import RunRecord, atomic_write_text, list_records


def archive_records(records: list[RunRecord], dest: Path) -> list[Path]:
    """Copy completed records into `dest` (one file per run id; an archived copy is replaced only by a newer
    record of that run). Returns the files written."""
    kept = {r.run_id: r for r in list_records(dest)}
    written = []
    for r in records:
        if r.status != "completed" or (r.run_id in kept and kept[r.run_id].updated_at >= r.updated_at):
            continue
        path = dest / "runs" / r.run_id / "record.json"
        atomic_write_text(path, r.model_dump_json() + "\n")  # compact: committed, ~20 KB a run
        written.append(path)
    return written


def pooled_records(roots: list[Path]) -> list[RunRecord]:
    """Every record under several results roots, one per run id (the most recently updated), in run-id order."""
    by_id: dict[str, RunRecord] = {}
    for root in roots:
        for r in list_records(root):
            if r.run_id not in by_id or r.updated_at > by_id[r.run_id].updated_at:
                by_id[r.run_id] = r
    return [by_id[k] for k in sorted(by_id)]

"""A learning curve: one evaluator run on every policy a training stage saved (eval.every_steps).

The curve stage runs after the final evaluation. Its points are step 0 (the SFT policy the method starts from),
every saved snapshot <train>/ckpt/global_step<N>_hf with N a multiple of every_steps, and the last step (the
final evaluation's own report, not a second run of it). Each point is the evaluator's unchanged command (the
final eval stage's argv with the policy and output folder swapped), so a curve point and the final number are
the same measurement. A point whose report exists is not run again: an interrupted curve resumes.

    python -m repro.evals.curve --snapshots DIR --every N --start SFT_MODEL --train-dir DIR
        --samples-per-step K --final-report FILE --out DIR -- <evaluator argv with {policy} and {out}>
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from repro.metrics.summary import read_report, step_wall_times
from repro.store import atomic_write_json

POLICY = "{policy}"
OUT = "{out}"
SNAPSHOT = re.compile(r"global_step(\d+)_hf")


def template(argv: list[str], policy: str, out: str) -> list[str]:
    """An eval stage's argv with its policy folder and output folder (and paths under it) as placeholders."""
    def swap(arg: str) -> str:
        if arg == policy:
            return POLICY
        if arg == out or arg.startswith(out + "/"):
            return OUT + arg[len(out):]
        return arg
    return [swap(a) for a in argv]


def fill(argv: list[str], policy: Path, out: Path) -> list[str]:
    return [str(policy) if a == POLICY else str(out) + a[len(OUT):] if a.startswith(OUT) else a for a in argv]


def snapshot_steps(snapshots: Path, every: int) -> dict[int, Path]:
    """Saved Hugging Face snapshots at multiples of `every`, by step (saves made for resuming are skipped)."""
    found = {}
    for path in snapshots.glob("global_step*_hf") if snapshots.is_dir() else []:
        match = SNAPSHOT.fullmatch(path.name)
        if match and int(match.group(1)) % every == 0 and (path / "config.json").exists():
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def stage_start(train_dir: Path) -> float | None:
    """The training stage's start (its stage.json), seconds since the epoch."""
    stage_json = train_dir / "stage.json"
    started = read_report(stage_json).get("started_at") if stage_json.exists() else None
    return datetime.fromisoformat(started).timestamp() if started else None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snapshots", type=Path, required=True)
    ap.add_argument("--every", type=int, required=True)
    ap.add_argument("--start", type=Path, required=True, help="the policy at step 0 (the SFT model)")
    ap.add_argument("--train-dir", type=Path, required=True, help="the training stage's folder (tb/, stage.json)")
    ap.add_argument("--samples-per-step", type=int, required=True)
    ap.add_argument("--final-report", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv[:split])
    command = argv[split + 1:]

    ends = step_wall_times(args.train_dir / "tb")
    last = max(ends, default=0)
    start = stage_start(args.train_dir)
    policies = {0: args.start, **{s: p for s, p in snapshot_steps(args.snapshots, args.every).items() if s < last}}
    points = []
    for step, policy in policies.items():
        out = args.out / f"step-{step}"
        if not (out / "report.json").exists():
            print(f"curve: step {step}: {policy}", flush=True)
            subprocess.run(fill(command, policy, out), check=True)
        points.append((step, read_report(out / "report.json")))
    points.append((last, read_report(args.final_report)))
    curve = [{"step": step, "samples": step * args.samples_per_step,
              "wall_s": 0.0 if step == 0 else (round(ends[step] - start, 3) if start and step in ends else None),
              "metrics": report.get("metrics", {})} for step, report in points]
    atomic_write_json(args.out / "report.json", {"metrics": {}, "curve": curve})


if __name__ == "__main__":
    main()

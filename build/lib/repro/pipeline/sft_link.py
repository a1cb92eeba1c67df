"""The `sft` stage when `sft.skip` is set: the world's base model, linked where the SFT policy would be.

The paper's instruction setting starts every method from the instruct model itself. Linking, rather than
dropping the stage, keeps one pipeline shape: every stage that needs `sft` and reads `<sft>/model` works
unchanged, and the record says the policy was linked, not trained.
Run as a stage: python -m repro.pipeline.sft_link --base-model DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from repro.store import atomic_write_json


def link_base_model(base_model: Path, out: Path) -> dict:
    """Symlink `base_model` as out/model and write out/report.json; returns the report."""
    if not base_model.is_dir():
        raise SystemExit(f"no base model folder at {base_model}: the world stage links it there")
    out.mkdir(parents=True, exist_ok=True)
    model = out / "model"
    if model.is_symlink():
        model.unlink()
    elif model.exists():
        # Never delete weights: a real folder here is not a link this stage made.
        raise SystemExit(f"{model} exists and is not a link; refusing to replace it")
    os.symlink(base_model.absolute(), model, target_is_directory=True)
    report = {"metrics": {}, "tokens": 0, "sft": "skipped: the base model is linked, not trained",
              "model": str(model), "linked_to": str(base_model.absolute())}
    atomic_write_json(out / "report.json", report)
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-model", type=Path, required=True, help="the world's base_model folder")
    ap.add_argument("--out", type=Path, required=True, help="the sft stage's folder; the link is <out>/model")
    args = ap.parse_args(argv)
    print(json.dumps(link_base_model(args.base_model, args.out), indent=2))


if __name__ == "__main__":
    main()

"""The world's base model: a link to a pinned pretrained snapshot already on disk, plus a small reference.

No weights are downloaded or copied. `base_model/` becomes a symlink to `model.path` or to the HF cache
snapshot of id@revision (what SFT loads), and `base_model.json` records id and revision only: the run
record fingerprints that JSON (the commit SHA names the weights' content; a local folder would not).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from repro.spec import PretrainedModelSpec
from repro.store import atomic_write_json

SHA = re.compile(r"^[0-9a-f]{40}$")


def snapshot_folder(model: PretrainedModelSpec) -> Path:
    """Where id@revision lies on this machine; fails with the command that would fetch it."""
    if not SHA.match(model.revision):
        raise SystemExit(f"model.revision {model.revision!r} is not a 40-hex commit SHA; pin {model.id} to a "
                         f"verified commit (see the recipe folder's README)")
    if model.path is not None:
        folder = Path(model.path)
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(snapshot_download(model.id, revision=model.revision, local_files_only=True))
        except LocalEntryNotFoundError:
            raise SystemExit(f"{model.id}@{model.revision} is not in the HF cache; fetch it first: huggingface-cli "
                             f"download {model.id} --revision {model.revision}") from None
    if not (folder / "config.json").is_file():
        raise SystemExit(f"base model folder {folder} has no config.json")
    return folder


def link_base_model(model: PretrainedModelSpec, link: Path, reference: Path) -> Path:
    """Points `link` at the snapshot and writes the reference; returns the snapshot folder."""
    folder = snapshot_folder(model).resolve()
    if link.is_symlink() or link.exists():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(folder, link, target_is_directory=True)
    atomic_write_json(reference, {"id": model.id, "revision": model.revision})
    return folder

"""Resuming a training stage from its own mid-run checkpoints (recipe section `checkpoint`).

OpenRLHF's trainers (and the GVM trainer) save DeepSpeed checkpoints under --ckpt.path and, with
--ckpt.load_enable, load the latest one when they start. Before a stage runs, the stage runner asks here
whether that is a resume: checkpoints made by this very stage (same key: argv, env and input contents) are
kept and their tag recorded; any others (a changed input, `--force`) are removed so that they are never
loaded into a different stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from repro.stages import Stage

KEY_FILE = ".stage_key"


def checkpoint_dir(stage: Stage) -> Path | None:
    """The folder the stage resumes from: its --ckpt.path when it renders --ckpt.load_enable."""
    argv = stage.argv
    if "--ckpt.load_enable" not in argv or "--ckpt.path" not in argv:
        return None
    return Path(argv[argv.index("--ckpt.path") + 1])


def latest_tag(folder: Path) -> str | None:
    """DeepSpeed's `latest` tag (e.g. global_step2): trainers save into the folder, Ray PPO into _actor/."""
    for candidate in (folder / "latest", folder / "_actor" / "latest"):
        if candidate.is_file():
            return candidate.read_text().strip() or None
    return None


def prepare_resume(stage: Stage, key: str, fresh: bool) -> str | None:
    """The checkpoint tag the stage will resume from, or None; stale checkpoints are removed first."""
    folder = checkpoint_dir(stage)
    if folder is None:
        return None
    mine = (folder / KEY_FILE).is_file() and (folder / KEY_FILE).read_text() == key
    if fresh or not mine:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).write_text(key)
    return latest_tag(folder)

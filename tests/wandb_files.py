"""Read a W&B offline run back from wandb's own files: the run folder's .wandb file is a LevelDB-style log
(32 KiB blocks of records with a 7-byte header) of wandb's protobuf Records (wandb.proto.wandb_internal_pb2)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def raw_records(path: Path):
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (kind == 0 and length == 0):  # block padding
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk


@dataclass
class OfflineRun:
    group: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def read_offline_run(run_dir: Path) -> OfflineRun:
    from wandb.proto import wandb_internal_pb2

    (path,) = run_dir.glob("*.wandb")
    out = OfflineRun()

    def items(entries):
        return {e.key or "/".join(e.nested_key): json.loads(e.value_json) for e in entries}

    for raw in raw_records(path):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            out.group, out.job_type, out.tags = rec.run.run_group, rec.run.job_type, list(rec.run.tags)
            out.config = {k: v.get("value", v) if isinstance(v, dict) else v for k, v in items(rec.run.config.update).items()}
        elif kind == "history":
            out.history.append(items(rec.history.item))
        elif kind == "summary":
            out.summary.update(items(rec.summary.update))
    return out

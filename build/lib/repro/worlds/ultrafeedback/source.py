"""Read UltraFeedback rows as plain dicts from a local file or folder, or from the datasets cache.

Reading by name goes through `datasets.load_dataset` with the stage environment's offline flags, so on a
cluster the pinned revision must already be in HF_DATASETS_CACHE (nothing is downloaded by a stage).
"""

from __future__ import annotations

from pathlib import Path

from repro.store import read_jsonl
from repro.worlds.ultrafeedback import UltraFeedbackSourceSpec

DEFAULT_SPLIT = {"binarized": "train_prefs", "raw": "train"}


def split_name(source: UltraFeedbackSourceSpec) -> str:
    return source.split or DEFAULT_SPLIT[source.format]


def read_rows(source: UltraFeedbackSourceSpec) -> list[dict]:
    if source.name is not None:
        import datasets

        return datasets.load_dataset(source.name, revision=source.revision, split=split_name(source)).to_list()
    path = Path(source.path)
    if path.is_dir():
        import datasets

        data = datasets.load_from_disk(str(path))
        return (data[split_name(source)] if isinstance(data, datasets.DatasetDict) else data).to_list()
    if path.suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise SystemExit(f"source.path {path}: expected a .jsonl/.parquet file or a datasets save_to_disk folder")

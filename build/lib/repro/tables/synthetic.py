"""Synthetic run records for table tests and the `repro tables` speed benchmark.

Benchmark: python -m repro.tables.synthetic [N]   (times `repro tables` over N records written to disk)
"""

from __future__ import annotations

import random
import sys
import time

from repro.store import RunRecord, StageMetrics, StageRecord

FINGERPRINTS = {"base_model": "b" * 16, "data": "d" * 16}


def synthetic_record(method: str, seed: int, metrics: dict[str, float], *, setting: str = "imdb",
                     status: str = "completed", device: str = "cpu", train_wall_s: float = 60.0,
                     steps: int = 30, peak_mib: float = 1000.0, fingerprints: dict | None = None) -> RunRecord:
    gpu = {"0": peak_mib} if device == "gpu" else {}
    train = StageRecord(
        name=method, workdir=f"/runs/{method}", status="completed" if status == "completed" else "failed",
        metrics=StageMetrics(device=device, wall_s=train_wall_s, peak_rss_mib=peak_mib * 2, peak_pss_mib=peak_mib,
                             peak_gpu_mem_mib=gpu),
        train={"train/loss_mean": {"n": steps, "first": 1.0, "last": 0.5}},
    )
    world = StageRecord(name="world", workdir="/shared/world", status="completed",
                        metrics=StageMetrics(device=device, wall_s=10.0, peak_rss_mib=500.0, peak_pss_mib=400.0))
    return RunRecord(
        run_id=f"{setting}-{method}-s{seed}", method=method, recipe=setting, setting=setting, seed=seed,
        status=status, created_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00",
        spec={"resources": {"device": device}}, train_stage=method,
        env={"cpu": "Test CPU", "cpu_count": 2, "gpus": ["H100"] * 8 if device == "gpu" else []},
        fingerprints=dict(fingerprints or FINGERPRINTS), stages=[world, train],
        metrics=metrics if status == "completed" else {},
    )


def many_records(n: int, seed: int = 0) -> list[RunRecord]:
    rng = random.Random(seed)
    methods = ["sft", "dpo", "ppo", "grpo", "dvpo"]
    return [synthetic_record(methods[i % 5], i // 5, {"gold/reward_mean": rng.random(),
                                                      "gold/win_rate_vs_sft": rng.random(),
                                                      "gold/kl_to_sft": 10 * rng.random()},
                             train_wall_s=rng.uniform(30, 90), peak_mib=rng.uniform(500, 2000))
            for i in range(n)]


def main() -> None:
    """Time `repro tables` end to end (read records from disk, build, render md) over N records."""
    import tempfile
    from pathlib import Path

    from repro.store import save_record
    from repro.tables.write import write_tables

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, rec in enumerate(many_records(n)):
            rec.run_id = f"{rec.run_id}-{i}"
            save_record(rec, root / "runs" / rec.run_id / "record.json")
        t0 = time.perf_counter()
        texts = write_tables(root, None, ["md"], None)
        print(f"repro tables over {n} records on disk -> {len(texts)} tables: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()

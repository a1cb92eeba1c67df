import importlib.util
import ipaddress
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Every training test multiplies bf16 in float32 (repro/cpu/bf16_matmul.py) on every CPU kind, so CI's time
# and numbers do not depend on the machine drawn (torch's generic bf16 path on AVX2-only CPUs made CI take 90
# minutes). Runs outside the tests keep the `auto` default: native kernels where the CPU has them.
os.environ.setdefault("REPRO_CPU_BF16_MATMUL", "fp32")


def needs(*modules: str):
    """Skip a fast-tier test on a light install (`pip install -e .[dev]`) that lacks the training or
    evaluation stack; `make install` has every module, so CI runs them all."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (make install)")


@pytest.fixture
def results_root(tmp_path, monkeypatch):
    root = tmp_path / "results"
    monkeypatch.setenv("REPRO_RESULTS", str(root))
    return root


def normalise(text: str, results_root: Path) -> str:
    """Golden files hold machine-independent paths."""
    return (text.replace(str(results_root), "<results>").replace(sys.executable, "python")
            .replace(str(REPO), "<repo>"))


@pytest.fixture(scope="session")
def dpo_smoke_run(tmp_path_factory):
    """`repro run --method dpo -r imdb/smoke` once per session: its results root and record (as JSON). The DPO
    pipeline's tests read it and the Slurm test compares its own run against it, so it trains once, not twice."""
    import json
    import subprocess

    root = tmp_path_factory.mktemp("dpo-smoke")
    proc = subprocess.run([sys.executable, "-m", "repro.cli", "run", "--method", "dpo", "--recipe", "imdb/smoke"],
                          env={**os.environ, "REPRO_RESULTS": str(root)}, capture_output=True, text=True,
                          timeout=900, cwd=REPO)
    if proc.returncode != 0:
        pytest.fail(f"repro run --method dpo exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    (record_path,) = (root / "runs").glob("imdb-smoke-dpo-*/record.json")
    return root, json.loads(record_path.read_text())


@pytest.fixture(scope="module")
def openrlhf_shims():
    """The CPU layer's shims (vLLM, flash-attn, CUDA redirects) before a test imports OpenRLHF's trainers."""
    from repro.cpu.run import install_shims

    install_shims()


def check_golden(name: str, text: str) -> None:
    path = REPO / "tests" / "golden" / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path} was missing and has been written; re-run")
    assert text == path.read_text(), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def tensorboard_steps(tb_dir: Path, tag: str) -> list[int]:
    """Every step logged under `tag` in a stage's tensorboard folder, as written (repeats included)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps: list[int] = []
    for folder in sorted({p.parent for p in tb_dir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}, purge_orphaned_data=False)
        acc.Reload()
        steps += [e.step for e in acc.Scalars(tag)] if tag in acc.Tags().get("scalars", []) else []
    return steps


def tensorboard_series(tb_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar curve of a stage's tensorboard folder: tag -> [(step, value), ...] as written."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, list[tuple[int, float]]] = {}
    for folder in sorted({p.parent for p in tb_dir.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}, purge_orphaned_data=False)
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            series.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return series


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 or ::1, IPv4-mapped forms included (ss/psutil show '::ffff:127.0.0.1' for dual-stack sockets)."""
    if not address:  # an empty --node-ip-address lets Ray pick the machine's own address
        return False
    ip = ipaddress.ip_address(address)
    return (ip.ipv4_mapped or ip).is_loopback if ip.version == 6 else ip.is_loopback

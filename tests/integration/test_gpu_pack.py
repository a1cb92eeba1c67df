"""The GPU machine's wheels (repro/gpu/pack.py), built for this machine's Python and checked here: they fit the
carry limit, Ray's is stripped consistently, they install with no index, and the installed copies (not this
venv's) import and start a loopback Ray cluster. Whether the GPU path imports anything neither the image nor the
pack holds is checked on this venv's imports (repro/gpu/image.py)."""

import json
import lzma
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from repro.gpu.image import uncovered
from repro.gpu.pack import CARRY_LIMIT_MIB
from tests.conftest import REPO

pytestmark = pytest.mark.integration
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# What the GPU path imports: the trainers OpenRLHF runs, DVPO's hooks, the harness's CLI and launchers.
GPU_PATH = ["openrlhf.cli.train_ppo_ray", "openrlhf.cli.train_sft", "openrlhf.cli.train_dpo",
            "openrlhf.cli.train_rm", "openrlhf.trainer.ray.ppo_actor", "openrlhf.trainer.ppo_trainer",
            "dvpo.openrlhf_hooks", "dvpo.frozen_pair", "dvpo.gvm.train", "repro.cli", "repro.bench",
            "repro.launch.openrlhf_entry", "repro.launch.stage_runner", "repro.lora.sync", "deepspeed", "ray"]
IMPORTED = """
import importlib, importlib.metadata as md, json, sys
from repro.cpu.run import install_shims
install_shims()  # flash-attn and vLLM stand-ins: the image has neither
for m in {modules}:
    importlib.import_module(m)
names = {{n.split(".")[0] for n in sys.modules}}
dists = md.packages_distributions()
print(json.dumps(sorted({{d for n in names for d in dists.get(n, [])}})))
"""


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    out = tmp_path_factory.mktemp("whl")
    subprocess.run([sys.executable, "-m", "repro.gpu.pack", "--out", str(out), "--python", PYTHON], check=True,
                   timeout=900)
    return out


def test_the_pack_fits_the_carry_and_rays_wheel_is_stripped_consistently(packed):
    files = sorted(packed.iterdir())
    assert sum(f.stat().st_size for f in files) < CARRY_LIMIT_MIB * 2**20
    (ray_xz,) = [f for f in files if f.name.startswith("ray-") and f.name.endswith(".whl.xz")]
    unpacked = packed.parent / ray_xz.name[:-3]
    with lzma.open(ray_xz) as src, open(unpacked, "wb") as dst:
        dst.write(src.read())
    with zipfile.ZipFile(unpacked) as wheel:
        names = set(wheel.namelist())
        (record,) = [n for n in names if n.startswith("ray-") and n.endswith(".dist-info/RECORD")]
        listed = {line.split(",")[0] for line in wheel.read(record).decode().splitlines() if line}
    assert not any(n.startswith(("ray/jars/", "ray/rllib/")) for n in names | listed)
    assert listed == names and "ray/_private/worker.py" in names  # RECORD matches the files; Ray's core is there


def test_the_oneshot_script_installs_the_pack_without_an_index_and_its_copies_import_and_run(packed, tmp_path):
    """gpu/oneshot.sh --install-only, as on the GPU machine: the standard library unpacks Ray's wheel, pip installs
    every wheel offline into a folder of its own; then the installed copies (not this venv's) import and run."""
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    shutil.copytree(packed, wheels)
    env = {**os.environ, "REPRO_GPU_WHEELS": str(wheels), "REPRO_GPU_SITE": str(site), "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(REPO / "gpu" / "oneshot.sh"), "--install-only"], env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "GPU path imports from" in out.stdout and str(site) in out.stdout
    code = (
        "from repro.cpu import ray_local\n"
        "ray_local.pin_loopback()  # before anything imports ray: the cluster binds 127.0.0.1 only\n"
        "import json, ray, deepspeed, submitit, pydantic\n"
        "from repro.cpu.run import install_shims\n"
        "install_shims()\n"
        "import openrlhf.cli.train_ppo_ray, dvpo.openrlhf_hooks, repro.cli\n"
        "ray_local.start(1)\n"
        "answer = ray.get(ray.remote(lambda: 42).remote())\n"
        "ray_local.stop()\n"
        "mods = (ray, deepspeed, submitit, pydantic, openrlhf.cli.train_ppo_ray)\n"
        "print(json.dumps({'answer': answer, 'files': [m.__file__ for m in mods]}))\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{site}"}  # the checkout travels; the wheels are installed
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["answer"] == 42
    assert all(f.startswith(str(site)) for f in result["files"]), result["files"]


def test_every_distribution_the_gpu_path_imports_is_in_the_image_or_the_pack():
    out = subprocess.run([sys.executable, "-c", IMPORTED.format(modules=GPU_PATH)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    imported = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert {"ray", "deepspeed", "openrlhf", "torch"} <= imported
    assert uncovered(imported) == set()

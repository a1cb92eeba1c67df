"""Wheels for the GPU machine: `python -m repro.gpu.pack --out .whl [--python 3.12]`.

Every distribution in repro.gpu.image.CARRIED, at the version installed here (the one the tests ran), for the
target Python on manylinux x86-64: downloaded where PyPI has a wheel; DeepSpeed, an sdist, built here as pure
Python with DS_BUILD_OPS=0. The harness itself travels as the working tree. Ray's wheel (74 MB) is rewritten
without ray/jars and ray/rllib (their RECORD lines too) and xz-packed, so everything fits the device tool's
64 MiB carry. On the GPU machine, from the checkout's root (only the standard library is at hand there):

    python3 -c "import lzma,glob,shutil; [shutil.copyfileobj(lzma.open(f), open(f[:-3], 'wb')) for f in glob.glob('.whl/*.xz')]"
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD:/tmp/site
"""

from __future__ import annotations

import argparse
import importlib.metadata
import lzma
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from repro.gpu.image import CARRIED, normalise

REPO = Path(__file__).resolve().parents[2]
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64")
BUILT_HERE = ("deepspeed",)
STRIPPED = {"ray": ("ray/jars/", "ray/rllib/")}
CARRY_LIMIT_MIB = 64


def strip_wheel(wheel: Path, prefixes: tuple[str, ...]) -> Path:
    """The wheel rewritten without the files under `prefixes` (and their RECORD lines), in place."""
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename.startswith(prefixes):
                continue
            data = src.read(item)
            if item.filename.endswith(".dist-info/RECORD") and "/" not in item.filename.removesuffix("/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(ln for ln in lines if not ln.startswith(prefixes)).encode()
            dst.writestr(item, data)
    tmp.replace(wheel)
    return wheel


def xz(path: Path) -> Path:
    packed = path.with_name(path.name + ".xz")
    with open(path, "rb") as src, lzma.open(packed, "wb", preset=6) as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()
    return packed


def pip(*args: str, env: dict | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"], check=True,
                   env={**os.environ, **(env or {})})


def download(names: list[str], out: Path, python: str) -> None:
    pins = [f"{n}=={importlib.metadata.version(n)}" for n in names]
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    abi = "cp" + python.replace(".", "")
    pip("download", "--no-deps", "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
        "--abi", abi, "--abi", "abi3", "--abi", "none", *platforms, "-d", str(out), *pins)


def build_here(out: Path) -> None:
    # Pure Python: the CUDA ops are compiled on first use by the GPU machine's own toolchain.
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
        f"deepspeed=={importlib.metadata.version('deepspeed')}", env={"DS_BUILD_OPS": "0"})


def pack(out: Path, python: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    download([n for n in CARRIED if n not in BUILT_HERE], out, python)
    build_here(out)
    for name, prefixes in STRIPPED.items():
        (wheel,) = [w for w in out.glob("*.whl") if normalise(w.name.split("-")[0]) == name]
        xz(strip_wheel(wheel, prefixes))
    files = sorted(out.iterdir())
    total = sum(f.stat().st_size for f in files) / 2**20
    if total > CARRY_LIMIT_MIB:
        raise SystemExit(f"the pack is {total:.1f} MiB, over the {CARRY_LIMIT_MIB} MiB carry limit")
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / ".whl", help="folder for the wheels (git-ignored)")
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python (X.Y)")
    args = parser.parse_args(argv)
    files = pack(args.out, args.python)
    for f in files:
        print(f"{f.stat().st_size / 2**20:7.1f} MiB  {f.name}")
    print(f"{sum(f.stat().st_size for f in files) / 2**20:7.1f} MiB  in {len(files)} files -> {args.out}")


if __name__ == "__main__":
    main()

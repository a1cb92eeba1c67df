"""What the lent GPU machine's image holds, and what this harness carries there. Data only.

IMAGE: the distributions the image ('cuda', Python 3.12, torch 2.11, transformers 5.17) had when last read
(../.library/device/KINDS.md, 2026-11-17), normalised. CARRIED: what the harness's GPU path imports that the
image lacks, packed by repro.gpu.pack at the versions installed here (the harness itself travels as the
working tree and runs from it: PYTHONPATH=<checkout>:<installed wheels>). OPTIONAL: imported here only because
they happen to be installed (integrations that import them if present); the GPU path runs without them.
"""

from __future__ import annotations

import re

IMAGE = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax
llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless
optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip
pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn
scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers
treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt
xarray xxhash yarl zipp pytz tzdata
""".split())

# Distribution -> how it travels (see repro.gpu.pack).
CARRIED = {
    "openrlhf": "OpenRLHF without its requirements (flash-attn has no wheel; the rest are listed here)",
    "deepspeed": "built here from its sdist: pure Python with DS_BUILD_OPS=0 (ops JIT-compile with the image's nvcc)",
    "ray": "without ray/jars and ray/rllib (Java workers, RLlib: never used), xz-packed",
    "pydantic": "", "pydantic-core": "", "annotated-types": "", "typing-inspection": "",
    "submitit": "", "jsonschema": "", "jsonschema-specifications": "", "referencing": "", "rpds-py": "",
    "datasets": "", "dill": "", "multiprocess": "", "hjson": "", "optree": "", "pylatexenc": "", "torchdata": "",
}

WORKING_TREE = frozenset({"repro-dvpo"})  # the harness: its checkout travels to the machine

OPTIONAL = frozenset({"bitsandbytes", "chardet", "google-api-core", "google-auth", "googleapis-common-protos",
                      "jaraco-context", "jaraco-functools", "jaraco-text", "backports-tarfile", "more-itertools"})


def normalise(name: str) -> str:
    """PEP 503: `PyYAML`, `pydantic_core` and `jaraco.text` as `pyyaml`, `pydantic-core`, `jaraco-text`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def uncovered(distributions: set[str]) -> set[str]:
    """The distributions neither the image holds nor the pack carries (nor optional)."""
    covered = IMAGE | {normalise(n) for n in CARRIED} | OPTIONAL | WORKING_TREE
    return {d for d in map(normalise, distributions) if d not in covered}

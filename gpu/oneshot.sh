#!/usr/bin/env bash
# Table 3's bench in one shot on a bare one-GPU machine: torch in its image, no network, no vLLM or flash-attn
# (issue #20 item 6). Here, first:   python -m repro.gpu.pack --out .whl      (~45 MiB; carry .whl with the tree)
# There, from the checkout's root:   bash gpu/oneshot.sh [METHODS]             (default dvpo,ppo)
#   --install-only   unpack and install the wheels, check that the GPU path imports, stop (tested on CPU)
# The wheels install into $REPRO_GPU_SITE (default /tmp/repro-site) with the standard library's pip only; the
# harness runs from this checkout (PYTHONPATH). Writes bench-<gpu>.md and the runs' records under $OUT (the
# device tool's folder) or results/gpu/, named after the GPU nvidia-smi reports.
set -euo pipefail
cd "$(dirname "$0")/.."
install_only=false
if [[ "${1:-}" == "--install-only" ]]; then install_only=true; shift; fi
methods=${1:-dvpo,ppo}
recipe=${REPRO_GPU_RECIPE:-imdb/bench-llama32-1b-1gpu}
wheels=${REPRO_GPU_WHEELS:-.whl}
site=${REPRO_GPU_SITE:-/tmp/repro-site}
python=${PYTHON:-python3}

# Ray's wheel travels xz-packed (the carry limit); the standard library unpacks it.
"$python" - "$wheels" <<'PY'
import glob, lzma, os, shutil, sys
for packed in glob.glob(os.path.join(sys.argv[1], "*.whl.xz")):
    if not os.path.exists(packed[:-3]):
        with lzma.open(packed) as src, open(packed[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
"$python" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$site" \
  "$wheels"/*.whl
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$site/bin:$PATH"  # deepspeed's launcher is in bin/
# The stand-ins the recipe's stages install (repro/stages/env.py: gpu_shims), then what the GPU path imports.
REPRO_SHIMS=flash_attn,vllm "$python" -c "from repro.launch.openrlhf_entry import install_shims; install_shims()
import deepspeed, ray, openrlhf.cli.train_ppo_ray as ppo, dvpo.openrlhf_hooks, repro.cli
print('GPU path imports from', [m.__file__ for m in (deepspeed, ray, ppo)])"
if $install_only; then exit 0; fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr -c 'A-Za-z0-9\n' '-' | tr -s '-')
out=${OUT:-results/gpu}/$gpu
runs=${REPRO_GPU_RUNS:-/tmp/repro-gpu-runs}  # models and checkpoints (GBs) stay off $OUT: only records travel back
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt"
status=0
"$python" -m repro.cli bench --methods "$methods" --recipe "$recipe" --keep "$runs" \
  --out "$out/bench-$(basename "$recipe").md" 2>&1 | tee "$out/bench.log" || status=$?
for method in ${methods//,/ }; do
  "$python" -m repro.cli archive --recipe "$recipe" --results "$runs/$method" --to "$out/records" || status=$?
done
# Every stage's log comes back too (a first run on a new machine is read from them), not its models.
(cd "$runs" && find . -name log.txt -size -4M -exec cp --parents {} "$out/" \;) || true
exit $status

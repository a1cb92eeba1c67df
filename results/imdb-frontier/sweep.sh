#!/usr/bin/env bash
# The committed IMDB frontier sweep (issue #17), seed by seed so each seed's frontier lands whole.
# Resumes: completed runs are skipped, failed ones re-run. Each seed's completed records are archived into
# results/imdb-frontier/records (committed), which the tables read with --archive.
# Run from the repository root with the venv active.
# A failed run does not stop the loop; the script exits non-zero at the end if any sweep had one.
set -uo pipefail
seeds=${SEEDS:-0 1 2}
failed=0
for s in $seeds; do
  repro sweep -r imdb/frontier --launcher local --jobs 2 --seeds "$s" \
    --methods dpo,ppo,dvpo --grid methods.dpo.beta=0.1,0.3,1.0,3.0 --grid rl.kl_coef=0.01,0.05,0.2,0.5 \
    resources.cpus=1 resources.mem_gb=8 || failed=1   # two runs at once: 2 cores, 16 of 23 GiB
  # GRPO draws 4 samples per prompt: a quarter of the prompts gives the same 12 steps of 64 samples
  repro sweep -r imdb/frontier --launcher local --jobs 2 --seeds "$s" \
    --methods grpo --grid rl.kl_coef=0.01,0.05,0.2,0.5 rl.max_samples=192 resources.cpus=1 resources.mem_gb=8 \
    || failed=1
  repro archive -r imdb/frontier --to results/imdb-frontier/records   # committed: later sessions pool with it
done
exit $failed

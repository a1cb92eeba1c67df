#!/usr/bin/env bash
# The trajectory-conditioning and value-whitening ablation of issue #15 on the default IMDB recipe, seed by seed.
# Resumes (completed runs are skipped); each seed's completed records are archived into
# results/imdb-dvpo-context/records (committed), so seeds run in different sessions pool.
# Run from the repository root with the venv active:  SEEDS="1 2" bash results/imdb-dvpo-context/ablation.sh
set -uo pipefail
seeds=${SEEDS:-0 1 2}
failed=0
for s in $seeds; do
  repro run --method dvpo --seed "$s" || failed=1                                               # k = 0
  repro run --method dvpo --seed "$s" methods.dvpo.value_whitening=official_chunk || failed=1  # k = 0's GVM
  repro run --method dvpo --seed "$s" methods.dvpo.gvm.context_trajectories=2 || failed=1      # budget 128
  repro run --method dvpo --seed "$s" methods.dvpo.gvm.context_trajectories=4 \
    methods.dvpo.gvm.context_max_tokens=224 || failed=1
  repro archive -r imdb --to results/imdb-dvpo-context/records
done
exit $failed

#!/usr/bin/env bash
# Install a single-node Slurm (+ munge, + slurmdbd/MariaDB for real sacct) from Debian packages.
# Idempotent: does nothing when every binary start.sh needs is already on PATH.
# Package scripts cannot start services here (no systemd; policy-rc.d refuses), which is what we
# want anyway: start.sh runs every daemon itself, with all state under one folder.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
need=(slurmctld slurmd sbatch munged slurmdbd mariadbd rsync)  # rsync: submitit code snapshots
missing=()
for b in "${need[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "slurm/local/install.sh: already installed (slurm $(dpkg-query -W -f='${Version}' slurm-client 2>/dev/null || echo ?))"
  exit 0
fi
echo "slurm/local/install.sh: missing ${missing[*]}; installing" >&2

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# policy-rc.d exit 101 = "do not start services": keeps postinst from trying (and failing to) start
# munge/mariadb/slurm on machines that do have an init system; removed again afterwards.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
trap '[ $made_policy -eq 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d' EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  slurmctld slurmd slurm-client munge slurmdbd mariadb-server rsync
echo "slurm/local/install.sh: installed (slurm $(dpkg-query -W -f='${Version}' slurm-client 2>/dev/null || echo ?))"

#!/usr/bin/env bash
# Stop the single-node Slurm that start.sh started: by the PIDs it saved in $REPRO_SLURM_DIR/pids,
# in reverse start order, never by process name (other Slurm/MariaDB instances may run here).
# Every node's slurmd (one, or one per node in the 2-node mode) goes first.
# Jobs still queued or running are cancelled first, so no orphan slurmstepd outlives the cluster.
# State (job ids, accounting DB) is kept, so a later start.sh continues where this one stopped.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
D="$(realpath -m "${REPRO_SLURM_DIR:-/tmp/repro-slurm}")"
PIDS="$D/pids"
export SLURM_CONF="$D/etc/slurm.conf"

pid_of() {  # pid_of NAME: the saved PID if it still runs NAME's program (slurmd-node1: slurmd; a reused PID is never touched)
  local pid
  pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${1%%-*}" ] || return 1
  grep -q '^[^ ]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null && return 1  # zombie: already exited
  echo "$pid"
}
wait_gone() {  # wait_gone NAME SECONDS: poll until NAME's PID has exited
  local end=$((SECONDS + $2))
  while pid_of "$1" >/dev/null; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
}

if pid_of slurmctld >/dev/null && [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
  scancel --full $(squeue -h -o %A) 2>/dev/null || true
  end=$((SECONDS + 15))
  while [ -n "$(squeue -h -t PD,R,CG,S -o %A 2>/dev/null)" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
fi

slurmds=$(cd "$PIDS" 2>/dev/null && for f in slurmd-*.pid; do [ -e "$f" ] && echo "${f%.pid}"; done)
for name in $slurmds slurmctld slurmdbd mariadbd munged; do
  if pid="$(pid_of "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$name" 30; then
      echo "stop.sh: $name (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$name" 10 || echo "stop.sh: $name (pid $pid) still there" >&2
    fi
  fi
  rm -f "$PIDS/$name.pid"
done
echo "slurm/local: stopped ($D)"

#!/usr/bin/env bash
# Start a single-node Slurm (munged -> MariaDB -> slurmdbd -> slurmctld -> slurmd) on localhost with
# real accounting (sacct, array tasks included) and 2 fake GPUs. All state lives under one folder,
# $REPRO_SLURM_DIR (default /tmp/repro-slurm); the only file outside it is the symlink
# /etc/slurm/slurm.conf -> $REPRO_SLURM_DIR/etc/slurm.conf, so sbatch/sacct/submitit need no env.
# Idempotent: a daemon whose saved PID is alive is kept; if all are up it exits 0 at once. Needs root.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
D="$(realpath -m "${REPRO_SLURM_DIR:-/tmp/repro-slurm}")"
CPUS="${REPRO_SLURM_CPUS:-8}"          # declared CPUs (SlurmdParameters=config_overrides)
TIMEOUT="${REPRO_SLURM_TIMEOUT:-60}"   # seconds to wait for each daemon
ETC="$D/etc" LOG="$D/log" PIDS="$D/pids" RUN="$D/run"
MSOCK="$D/munge/munge.socket" DBSOCK="$D/mysql/mysqld.sock"
export SLURM_CONF="$ETC/slurm.conf"   # daemons read gres.conf/slurmdbd.conf next to it

alive() {  # alive NAME: the saved PID is running NAME (guards against a reused PID)
  local pid
  pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && ! grep -q '^[^ ]* ([^)]*) Z' "/proc/$pid/stat"
}
node_up() { sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated|completing)'; }
all_alive() { for n in munged mariadbd slurmdbd slurmctld slurmd; do alive "$n" || return 1; done; }

if all_alive && node_up; then echo "slurm/local: already up ($D)"; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "start.sh: must run as root (mknod, munge/mysql users)" >&2; exit 1; }

wait_for() {  # wait_for NAME CMD...: poll CMD (no fixed sleeps); fail fast if NAME died
  local name=$1 end=$((SECONDS + TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name" || [ $SECONDS -ge $end ]; then
      echo "start.sh: $name did not come up (died or >${TIMEOUT}s); logs: $LOG/$name.log $LOG/$name.out" >&2
      tail -n 15 "$LOG/$name.log" "$LOG/$name.out" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.05
  done
}
launch() {  # launch NAME CMD...: daemon in the foreground of its own session; $! is its PID
  local name=$1; shift         # (setsid/setpriv/env exec, so the PID is the daemon's own)
  alive "$name" && return 0
  setsid "$@" </dev/null >>"$LOG/$name.out" 2>&1 &
  echo $! >"$PIDS/$name.pid"
}

mkdir -p "$ETC" "$LOG" "$PIDS" "$RUN" "$D/state/ctld" "$D/state/slurmd" "$D/dev" "$D/munge" "$D/mysql"
chmod 755 "$D" "$LOG"

# --- config -------------------------------------------------------------------------------------
hw="$(slurmd -C 2>/dev/null | head -1)"
real_cpus="$(grep -o 'CPUs=[0-9]*' <<<"$hw" | cut -d= -f2)"
mem=$(( $(grep -o 'RealMemory=[0-9]*' <<<"$hw" | cut -d= -f2) * 9 / 10 ))  # ~90% or the node drains
[ "$real_cpus" -gt "$CPUS" ] && CPUS=$real_cpus
for i in 0 1; do [ -c "$D/dev/gpu$i" ] || mknod "$D/dev/gpu$i" c 195 $i; done  # gres needs char devs
cat >"$ETC/gres.conf" <<CONF
NodeName=localhost Name=gpu File=$D/dev/gpu[0-1]
CONF
cat >"$ETC/slurm.conf" <<CONF
ClusterName=repro
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MSOCK
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$D/state/ctld
SlurmdSpoolDir=$D/state/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
CONF
( umask 077; cat >"$ETC/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$MSOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
CONF
)
chmod 600 "$ETC/slurmdbd.conf"   # slurmdbd refuses a world-readable config
mkdir -p /etc/slurm && ln -sfn "$ETC/slurm.conf" /etc/slurm/slurm.conf

# --- munged (as user munge; it insists on owning its key, socket dir and log) ---------------------
[ -s "$D/munge/munge.key" ] || head -c 1024 /dev/urandom >"$D/munge/munge.key"
touch "$LOG/munged.log"
chown munge:munge "$D/munge" "$D/munge/munge.key" "$LOG/munged.log"
chmod 755 "$D/munge"; chmod 400 "$D/munge/munge.key"
launch munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground \
  --socket="$MSOCK" --key-file="$D/munge/munge.key" --log-file="$LOG/munged.log" \
  --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/munged.seed"
wait_for munged test -S "$MSOCK"

# --- MariaDB: unix socket only; root authenticates by socket, so no password anywhere ------------
touch "$LOG/mariadbd.log"; chown mysql:mysql "$D/mysql" "$LOG/mariadbd.log"
if [ ! -d "$D/mysql/data/mysql" ]; then
  mariadb-install-db --no-defaults --user=mysql --datadir="$D/mysql/data" \
    --auth-root-authentication-method=socket --skip-test-db >>"$LOG/mariadb-install.log" 2>&1 \
    || { echo "start.sh: mariadb-install-db failed; see $LOG/mariadb-install.log" >&2; exit 1; }
fi
launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$D/mysql/data" --socket="$DBSOCK" \
  --pid-file="$D/mysql/mariadbd.pid" --log-error="$LOG/mariadbd.log" --skip-networking \
  --innodb-lock-wait-timeout=900 --innodb-buffer-pool-size=128M
wait_for mariadbd mariadb-admin --no-defaults --socket="$DBSOCK" ping

# --- slurmdbd (Slurm passes no socket path to libmariadb; MYSQL_UNIX_PORT points it at ours) -----
launch slurmdbd env MYSQL_UNIX_PORT="$DBSOCK" slurmdbd -D
wait_for slurmdbd sacctmgr -n list cluster

# --- slurmctld, then slurmd ----------------------------------------------------------------------
launch slurmctld slurmctld -D
wait_for slurmctld bash -c 'scontrol ping | grep -q UP'
launch slurmd slurmd -D -N localhost
wait_for slurmd node_up
wait_for slurmctld bash -c 'sacctmgr -n -P list cluster format=cluster | grep -qx repro'

echo "slurm/local: up in ${SECONDS}s ($D); config /etc/slurm/slurm.conf -> $ETC/slurm.conf"
echo "slurm/local: clients need no env (optional: export SLURM_CONF=$ETC/slurm.conf)"

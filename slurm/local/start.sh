#!/usr/bin/env bash
# Start a single-node Slurm (munged -> MariaDB -> slurmdbd -> slurmctld -> slurmd) on localhost with
# real accounting (sacct, array tasks included) and 2 fake GPUs. All state lives under one folder,
# $REPRO_SLURM_DIR (default /tmp/repro-slurm); the only file outside it is the symlink
# /etc/slurm/slurm.conf -> $REPRO_SLURM_DIR/etc/slurm.conf, so sbatch/sacct/submitit need no env.
# Idempotent: a daemon whose saved PID is alive is kept; if all are up it exits 0 at once. Needs root.
# REPRO_SLURM_NODES=2 starts two nodes, node1 and node2: one slurmd each, in its own UTS and mount
# namespace (its own hostname, and an /etc/hosts that maps the node names to 127.0.0.1), on its own
# port of 127.0.0.1, with its own spool, pid and log files.
set -euo pipefail
t0=$EPOCHREALTIME

export PATH="$PATH:/usr/sbin:/sbin"
D="$(realpath -m "${REPRO_SLURM_DIR:-/tmp/repro-slurm}")"
CPUS="${REPRO_SLURM_CPUS:-8}"          # declared CPUs per node (SlurmdParameters=config_overrides)
NODES="${REPRO_SLURM_NODES:-1}"
[[ "$NODES" =~ ^[1-9]$ ]] || { echo "start.sh: REPRO_SLURM_NODES must be 1-9, not '$NODES'" >&2; exit 1; }
if [ "$NODES" -eq 1 ]; then NODE_NAMES=(localhost); NODE_LIST=localhost
else NODE_NAMES=($(seq -f 'node%g' 1 "$NODES")); NODE_LIST="node[1-$NODES]"; fi
TIMEOUT="${REPRO_SLURM_TIMEOUT:-60}"   # seconds to wait for each daemon
ETC="$D/etc" LOG="$D/log" PIDS="$D/pids" RUN="$D/run"
MSOCK="$D/munge/munge.socket" DBSOCK="$D/mysql/mysqld.sock"
export SLURM_CONF="$ETC/slurm.conf"   # daemons read gres.conf/slurmdbd.conf next to it

running() {  # running NAME: the saved PID exists and is no zombie (PID 1 here may never reap)
  local pid
  pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" && [ -n "$pid" ] || return 1
  grep -qv '^[^ ]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}
alive() {  # alive NAME: running and it is NAME's program (slurmd-node1 runs slurmd; a reused PID is not ours)
  running "$1" && [ "$(cat "/proc/$(cat "$PIDS/$1.pid")/comm" 2>/dev/null)" = "${1%%-*}" ]
}
slurmd_name() { echo "slurmd-$1"; }  # node $1's slurmd: its pid file name and the %n of its log file
node_up() { sinfo -h -N -n "$1" -p debug -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated|completing)'; }
nodes_up() { for n in "${NODE_NAMES[@]}"; do node_up "$n" || return 1; done; }  # every node idle or busy
all_alive() {
  for n in munged mariadbd slurmdbd slurmctld; do alive "$n" || return 1; done
  for n in "${NODE_NAMES[@]}"; do alive "$(slurmd_name "$n")" || return 1; done
}
slurmd_port() { [ "$1" -eq 1 ] && echo 6818 || echo $((6818 + $1)); }  # node k: 6818, then 6820, 6821, ...

running_nodes="$(cat "$ETC/nodes" 2>/dev/null || echo "$NODES")"
if [ "$running_nodes" != "$NODES" ] && alive slurmctld; then
  echo "start.sh: the cluster in $D runs with $running_nodes node(s), not $NODES; run stop.sh first" >&2; exit 1
fi
if all_alive && nodes_up; then
  ln -sfn "$ETC/slurm.conf" /etc/slurm/slurm.conf 2>/dev/null || true  # re-point clients at us
  echo "slurm/local: already up ($D)"; exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "start.sh: must run as root (mknod, munge/mysql users)" >&2; exit 1; }
# Ports 6817-6819 are fixed: a second cluster (another REPRO_SLURM_DIR) would collide, so refuse
# before touching anything (the /etc/slurm/slurm.conf symlink included).
daemon_ports=(slurmctld:6817 slurmdbd:6819)
for i in "${!NODE_NAMES[@]}"; do daemon_ports+=("$(slurmd_name "${NODE_NAMES[$i]}"):$(slurmd_port $((i + 1)))"); done
for p in "${daemon_ports[@]}"; do
  if ! alive "${p%:*}" && (exec 3<>"/dev/tcp/127.0.0.1/${p#*:}") 2>/dev/null; then
    echo "start.sh: port ${p#*:} (${p%:*}) is taken by something not started from $D;" \
         "is another local Slurm running (stop it with its REPRO_SLURM_DIR)?" >&2; exit 1
  fi
done

wait_for() {  # wait_for NAME CMD...: poll CMD (no fixed sleeps); fail fast if NAME died
  local name=$1 end=$((SECONDS + TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    if ! running "$name" || [ $SECONDS -ge $end ]; then  # not alive: comm is setsid until exec
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

mkdir -p "$ETC" "$LOG" "$PIDS" "$RUN" "$D/state/ctld" "$D/dev" "$D/munge" "$D/mysql"
for n in "${NODE_NAMES[@]}"; do mkdir -p "$D/state/slurmd-$n"; done
chmod 755 "$D" "$LOG"
echo "$NODES" >"$ETC/nodes"

# --- config -------------------------------------------------------------------------------------
hw="$(slurmd -C 2>/dev/null | head -1)"   # real CPUs and memory; declare ~90% or the node drains
real_cpus="${hw##*CPUs=}" real_cpus="${real_cpus%% *}" mem="${hw##*RealMemory=}" mem=$((${mem%% *} * 9 / 10))
[ "$real_cpus" -gt "$CPUS" ] && CPUS=$real_cpus
for i in 0 1; do [ -c "$D/dev/gpu$i" ] || mknod "$D/dev/gpu$i" c 195 $i; done  # gres needs char devs
cat >"$ETC/gres.conf" <<CONF
NodeName=$NODE_LIST Name=gpu File=$D/dev/gpu[0-1]
CONF
node_lines=""
for i in "${!NODE_NAMES[@]}"; do
  node_lines+="NodeName=${NODE_NAMES[$i]} NodeHostname=${NODE_NAMES[$i]} NodeAddr=127.0.0.1 Port=$(slurmd_port $((i + 1)))"
  node_lines+=" CPUs=$CPUS RealMemory=$mem Gres=gpu:2 State=UNKNOWN"$'\n'
done
# Every node's processes resolve every node name to the loopback (bind-mounted over /etc/hosts in
# the node's mount namespace; the machine's own /etc/hosts is never touched).
{ cat /etc/hosts; echo "127.0.0.1 ${NODE_NAMES[*]}"; } >"$ETC/hosts"
cat >"$ETC/slurm.conf" <<CONF
ClusterName=repro
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MSOCK
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$D/state/ctld
SlurmdSpoolDir=$D/state/slurmd-%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
KillWait=5
SchedulerType=sched/backfill
# default batch_sched_delay=3 batches sbatch submissions onto a 3 s tick: +3 s on every test job
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
# clients authenticate to slurmdbd with the munge socket named here, not the one in AuthInfo
AccountingStoragePass=$MSOCK
AccountingStorageTRES=gres/gpu
${node_lines}PartitionName=debug Nodes=$NODE_LIST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE_LIST MaxTime=INFINITE State=UP
CONF
( umask 077; cat >"$ETC/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$MSOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
CommunicationParameters=NoInAddrAny
SlurmUser=root
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

# --- munged (as user munge; it insists on owning its key and socket dir) -----------------------
[ -s "$D/munge/munge.key" ] || head -c 1024 /dev/urandom >"$D/munge/munge.key"
chown munge:munge "$D/munge" "$D/munge/munge.key"
chmod 755 "$D/munge"; chmod 400 "$D/munge/munge.key"
launch munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground \
  --socket="$MSOCK" --key-file="$D/munge/munge.key" \
  --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/munged.seed"
wait_for munged munge -n -S "$MSOCK"   # a real credential, not just a (maybe stale) socket file

# --- MariaDB: unix socket only; root authenticates by socket, so no password anywhere ------------
touch "$LOG/mariadbd.log"; chown mysql:mysql "$D/mysql" "$LOG/mariadbd.log"
if [ ! -d "$D/mysql/data/mysql" ]; then
  mariadb-install-db --no-defaults --user=mysql --datadir="$D/mysql/data" \
    --auth-root-authentication-method=socket --skip-test-db >>"$LOG/mariadb-install.log" 2>&1 \
    || { echo "start.sh: mariadb-install-db failed; see $LOG/mariadb-install.log" >&2; exit 1; }
fi
launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$D/mysql/data" --socket="$DBSOCK" \
  --pid-file="$D/mysql/mariadbd.pid" --log-error="$LOG/mariadbd.log" --skip-networking \
  --innodb-lock-wait-timeout=900 --innodb-buffer-pool-size=512M
wait_for mariadbd mariadb-admin --no-defaults --socket="$DBSOCK" ping

# --- slurmdbd (Slurm passes no socket path to libmariadb; MYSQL_UNIX_PORT points it at ours) -----
launch slurmdbd env MYSQL_UNIX_PORT="$DBSOCK" slurmdbd -D
wait_for slurmdbd sacctmgr -n list cluster

# --- slurmctld, then slurmd ----------------------------------------------------------------------
launch slurmctld slurmctld -D
wait_for slurmctld bash -c 'scontrol ping | grep -q UP'
if [ "$NODES" -eq 1 ]; then
  launch slurmd-localhost slurmd -D -N localhost
else
  for n in "${NODE_NAMES[@]}"; do  # unshare execs (no fork): the saved PID becomes slurmd's own
    launch "slurmd-$n" unshare --uts --mount sh -c \
      'hostname "$1" && mount --bind "$2" /etc/hosts && exec slurmd -D -N "$1"' sh "$n" "$ETC/hosts"
  done
fi
for n in "${NODE_NAMES[@]}"; do wait_for "$(slurmd_name "$n")" node_up "$n"; done
wait_for slurmctld bash -c 'sacctmgr -n -P list cluster format=cluster | grep -qx repro'
# slurmctld's first scheduling pass comes ~3 s after it starts; a job submitted before waits for it
wait_for slurmctld bash -c "sdiag | grep -m1 'Total cycles:' | grep -qv ': 0\$'"

echo "slurm/local: $NODES node(s) ($NODE_LIST) up in $(awk "BEGIN{printf \"%.1f\", $EPOCHREALTIME - $t0}") s ($D); clients need no env:" \
  "/etc/slurm/slurm.conf -> $ETC/slurm.conf (or export SLURM_CONF=$ETC/slurm.conf)"

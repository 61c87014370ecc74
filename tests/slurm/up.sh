#!/bin/bash
# up.sh: start a private single-node SLURM (munged, slurmctld, slurmd, all as
# root) for lyapdiag's SLURM test; prints `export SLURM_CONF=...` on stdout.
# State lives in $LYAP_SLURM_DIR (default /tmp/lyapdiag-slurm); stop it with
# tests/slurm/down.sh. Needs root and Debian's slurmctld slurmd slurm-client
# munge. No cgroups and no accounting: each finished job's state and exit
# code go to $LYAP_SLURM_DIR/log/jobcomp.log.
set -euo pipefail
DIR=${LYAP_SLURM_DIR:-/tmp/lyapdiag-slurm}
PORT=${LYAP_SLURM_PORT:-6827}
HOST=$(uname -n); HOST=${HOST%%.*}   # slurmd registers the short name
CPUS=$(env -u OMP_NUM_THREADS nproc)
die() { echo "up.sh: $*" >&2; exit 1; }

((EUID == 0)) || die "needs root (the daemons run as root)"
for cmd in munged slurmctld slurmd sinfo; do
  command -v "$cmd" >/dev/null || die "$cmd missing: apt-get install slurmctld slurmd slurm-client munge"
done
mkdir -p "$DIR"/{munge,state,spool,log}
chmod 755 "$DIR" "$DIR/munge"   # munged needs a world-searchable socket directory
[ -s "$DIR/munge/key" ] || (umask 077; head -c 1024 /dev/urandom >"$DIR/munge/key")
munged --socket="$DIR/munge/socket" --key-file="$DIR/munge/key" --pid-file="$DIR/munge/pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed"

mem_mb=$(awk '/^MemTotal:/ { print int($2 * 0.95 / 1024) }' /proc/meminfo)
cat >"$DIR/slurm.conf" <<CONF
ClusterName=lyapdiag-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# short credential lifetime: a requeued job restarts ~12 s later, not ~2 min
AuthInfo=socket=$DIR/munge/socket,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MpiDefault=pmix
ReturnToService=2
# keep finished jobs visible briefly so sbatch --wait polls every 2 s
MinJobAge=5
SchedulerParameters=batch_sched_delay=0,sched_interval=5,bf_interval=5
MailProg=/bin/true
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$DIR/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  case $(sinfo -h -n "$HOST" -o %t 2>/dev/null) in idle|mix|alloc) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 1
done
tail -n 20 "$DIR"/log/*.log >&2
die "node $HOST did not come up within 60 s (logs above)"

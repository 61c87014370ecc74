#!/bin/bash
# down.sh: stop the SLURM started by up.sh (same $LYAP_SLURM_DIR): cancel
# jobs, stop the daemons by their pid files, remove the state directory.
DIR=${LYAP_SLURM_DIR:-/tmp/lyapdiag-slurm}
export SLURM_CONF=$DIR/slurm.conf
[ -d "$DIR" ] || exit 0
scancel --quiet $(squeue -h -o %A 2>/dev/null) 2>/dev/null
for pidfile in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/pid"; do
  pid=$(cat "$pidfile" 2>/dev/null) || continue
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
done
rm -rf "$DIR"

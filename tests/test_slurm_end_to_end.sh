#!/bin/bash
# Real SLURM, end to end (root only; SKIP otherwise): starts a private
# single-node SLURM (tests/slurm/up.sh), then
#   1. sbatch --wait jobs/phase.sbatch on a small deck: the file passes
#      check_phase_file and equals an mpirun run of the same deck bit for bit;
#   2. a job with a 2-minute limit, signalled 85 s before it, on a deck of
#      many short tasks (~45-180 s on 2 cores). slurmctld checks time limits
#      every 30 s and signals up to 30 s early, so the slot is 5-35 s: never
#      0 (with --time=1 and USR1@55 a job was once signalled 1 s after its
#      start). SLURM's USR1 reaches lyapdiag through the batch script's
#      trap, the job checkpoints, requeues itself and resumes until the deck is
#      complete, every restart making progress;
#   3. a job whose blocks outlast the time slot (tests/decks/slurm_noprog.ini):
#      the first restart that finishes nothing exits 4 and the batch script
#      does not requeue it.
# A watchdog bounds every job: it is cancelled (and the test fails) after
# $LYAP_SLURM_MAX_RESTARTS restarts or $LYAP_SLURM_MAX_SECONDS seconds.
. "${top_srcdir:-.}/tests/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the SLURM test needs root (it starts slurmctld and slurmd)"; exit 77; fi
for cmd in slurmctld slurmd munged sbatch; do
  command -v $cmd >/dev/null || { echo "SKIP: $cmd missing (apt-get install slurmctld slurmd slurm-client munge)"; exit 77; }
done
cd "$WORK" || exit 99
export LYAP_SLURM_DIR=$WORK/slurm
trap '"$top_srcdir/tests/slurm/down.sh"' EXIT
slurm_env=$("$top_srcdir/tests/slurm/up.sh") || { fail "SLURM did not start"; finish; }
eval "$slurm_env"
pass "single-node SLURM up ($(sinfo -h -o '%P %D nodes %c CPUs %t'))"
export PATH=$top_builddir:$PATH   # the job finds lyapdiag on PATH

# 1. A plain job.
small=$top_srcdir/tests/decks/small.ini
sbatch --wait --chdir="$WORK" --output=job1.out "$top_srcdir/jobs/phase.sbatch" "$small" small.nc >/dev/null
status=$?
[ "$status" -eq 0 ] && [ -s small.nc ] && pass "sbatch --wait phase.sbatch: exit 0, small.nc written" ||
  { fail "plain job: exit $status"; cat job1.out; }
"$top_builddir/tests/check_phase_file" small.nc >check1.txt && pass "small.nc passes check_phase_file" ||
  { fail "small.nc checks"; grep FAIL check1.txt; }
# The job ran with the OpenBLAS core jobs/openblas-core.sh chose (phase.sbatch
# sources it); the reference takes the same one (another core rounds BLAS
# results differently in the last bits).
( . "$top_srcdir/jobs/openblas-core.sh" >/dev/null; mpi 2 "$LYAPDIAG" run "$small" --quiet --output reference.nc ) &&
  "$top_builddir/tests/nc_compare" small.nc reference.nc >/dev/null &&
  pass "SLURM job and mpirun give bit-identical files" || fail "SLURM job differs from mpirun"
grep 'phase.sbatch: start' job1.out

# watched_job NAME LOG SBATCH-ARGS...: sbatch --wait under a watchdog that
# cancels the job after too many restarts or too long; the reason, if it
# had to, lands in NAME.watchdog. Sets $status and $seconds.
max_restarts=${LYAP_SLURM_MAX_RESTARTS:-30} max_seconds=${LYAP_SLURM_MAX_SECONDS:-900}
watched_job() {
  local name=$1 log=$2; shift 2
  local start; start=$(date +%s)
  rm -f "$name.watchdog"
  (
    while sleep 5; do
      restarts=$(grep -c 'phase.sbatch: start (restart' "$log" 2>/dev/null)
      elapsed=$(( $(date +%s) - start ))
      if [ "${restarts:-0}" -gt "$max_restarts" ] || [ "$elapsed" -gt "$max_seconds" ]; then
        echo "watchdog: cancelled job $name after $elapsed s and ${restarts:-0} restarts (limits: $max_seconds s, $max_restarts restarts)" >"$name.watchdog"
        scancel --name="$name"
        exit
      fi
    done
  ) &
  local watchdog=$!
  sbatch --wait --job-name="$name" --output="$log" "$@" >/dev/null
  status=$?
  kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  seconds=$(( $(date +%s) - start ))
  if [ -e "$name.watchdog" ]; then fail "$(cat "$name.watchdog")"; cat "$log"; fi
}

# 2. A job that hits its time limit: signal, checkpoint, requeue, resume.
long=$top_srcdir/tests/decks/slurm_long.ini
watched_job lyap-long job2.out --time=2 --signal=B:USR1@85 --chdir="$WORK" "$top_srcdir/jobs/phase.sbatch" "$long" long.nc
echo "time-limited job: exit $status after $seconds s; its log:"
grep -E 'phase.sbatch|stopped|resuming|wrote|no progress' job2.out
stops=$(grep -c 'stopped by a signal' job2.out)
resumes=$(grep -c 'resuming from' job2.out)
[ "$status" -eq 0 ] && [ "$stops" -ge 1 ] && [ "$resumes" -ge 1 ] && [ -s long.nc ] && [ ! -e long.nc.partial ] &&
  ! grep -q 'no progress' job2.out &&
  pass "time limit: $stops stop(s) by USR1, $resumes resume(s), deck completed in $seconds s" ||
  { fail "time-limited job: exit $status, $stops stops, $resumes resumes"; cat job2.out; }
# Every restart added tasks: the counts resumed from strictly increase.
counts=$(sed -n 's/.*resuming from long.nc.partial: \([0-9]*\)\/.*/\1/p' job2.out | tr '\n' ' ')
echo "$counts" | awk '{ for (i = 2; i <= NF; i++) if ($i <= $(i - 1)) exit 1 }' &&
  pass "every restart made progress (tasks done at each resume: $counts)" || fail "a restart made no progress: $counts"
"$top_builddir/tests/check_phase_file" long.nc >check2.txt && pass "long.nc (resumed across requeues) passes check_phase_file" ||
  { fail "long.nc checks"; grep FAIL check2.txt; }

# 3. Blocks of replicas longer than the time slot: the first restart
# without progress exits 4 and is not requeued (before, the job requeued
# itself forever).
watched_job lyap-noprog job3.out --time=2 --signal=B:USR1@85 --chdir="$WORK" \
  "$top_srcdir/jobs/phase.sbatch" "$top_srcdir/tests/decks/slurm_noprog.ini" noprog.nc
echo "job without progress: exit $status after $seconds s; its log:"
grep -E 'phase.sbatch|stopped|resuming|no progress' job3.out
starts=$(grep -c 'phase.sbatch: start' job3.out)
[ "$status" -eq 4 ] && [ "$starts" -le 3 ] && grep -q 'lyapdiag: no progress: .*gaussian width 256 slope' job3.out &&
  grep -q 'phase.sbatch: not requeueing: .*exit 4' job3.out && [ -e noprog.nc.partial ] &&
  pass "no progress: exit 4 after $starts allocation(s), not requeued, checkpoint kept" ||
  { fail "no-progress job: exit $status, $starts allocations"; cat job3.out; }
cat "$LYAP_SLURM_DIR/log/jobcomp.log" 2>/dev/null | sed 's/^/jobcomp: /' | cut -c1-200
finish

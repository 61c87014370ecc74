#!/bin/bash
# Real SLURM, end to end (root only; SKIP otherwise): starts a private
# single-node SLURM (tests/slurm/up.sh), then
#   1. sbatch --wait jobs/phase.sbatch on a small deck: the file passes
#      check_phase_file and equals an mpirun run of the same deck bit for bit;
#   2. a job with a 1-minute limit on a ~100 s deck: SLURM's USR1 reaches
#      lyapdiag through the batch script's trap, the job checkpoints, requeues
#      itself and resumes until the deck is complete.
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
mpi 2 "$LYAPDIAG" run "$small" --quiet --output reference.nc &&
  "$top_builddir/tests/nc_compare" small.nc reference.nc >/dev/null &&
  pass "SLURM job and mpirun give bit-identical files" || fail "SLURM job differs from mpirun"
grep 'phase.sbatch: start' job1.out

# 2. A job that hits its time limit: signal, checkpoint, requeue, resume.
long=$top_srcdir/tests/decks/slurm_long.ini
start=$(date +%s)
sbatch --wait --time=1 --signal=B:USR1@55 --chdir="$WORK" --output=job2.out \
  "$top_srcdir/jobs/phase.sbatch" "$long" long.nc >/dev/null
status=$?
echo "time-limited job: exit $status after $(( $(date +%s) - start )) s; its log:"
grep -E 'phase.sbatch|stopped|resuming|wrote' job2.out
stops=$(grep -c 'stopped by a signal' job2.out)
resumes=$(grep -c 'resuming from' job2.out)
[ "$status" -eq 0 ] && [ "$stops" -ge 1 ] && [ "$resumes" -ge 1 ] && [ -s long.nc ] && [ ! -e long.nc.partial ] &&
  pass "time limit: $stops stop(s) by USR1, $resumes resume(s), deck completed" ||
  { fail "time-limited job: exit $status, $stops stops, $resumes resumes"; cat job2.out; }
"$top_builddir/tests/check_phase_file" long.nc >check2.txt && pass "long.nc (resumed across requeues) passes check_phase_file" ||
  { fail "long.nc checks"; grep FAIL check2.txt; }
cat "$LYAP_SLURM_DIR/log/jobcomp.log" 2>/dev/null | sed 's/^/jobcomp: /' | cut -c1-200
finish

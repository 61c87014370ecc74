#!/bin/sh
# The job-array variant: jobs/phase-array.sbatch splits a deck by family
# (run here without SLURM, one array index at a time, as SLURM would) and
# postproc/merge.py joins the pieces into a file bit-identical to one run
# of the whole deck. Skipped without Debian's python3-xarray.
. "${top_srcdir:-.}/tests/lib.sh"
"$PYTHON3" -c 'import xarray, netCDF4' 2>/dev/null ||
  { echo "SKIP: $PYTHON3 lacks xarray/netCDF4 (apt-get install python3-xarray python3-netcdf4)"; exit 77; }
cd "$WORK" || exit 99
ln -s "$top_srcdir/jobs" jobs
cp "$top_srcdir/tests/decks/small.ini" small.ini
export PATH=$top_builddir:$PATH SLURM_SUBMIT_DIR=$WORK SLURM_NTASKS=2
for i in 0 1 2; do
  SLURM_ARRAY_TASK_ID=$i bash jobs/phase-array.sbatch small.ini >array$i.log 2>&1 ||
    { fail "array index $i"; cat array$i.log; }
done
ls small-gaussian.nc small-orthogonal.nc small-uniform.nc >/dev/null && pass "3 array tasks wrote 3 files" ||
  fail "array files missing"
SLURM_ARRAY_TASK_ID=3 bash jobs/phase-array.sbatch small.ini 2>err.txt
grep -q "array index 3: the deck has 3 families" err.txt && pass "array index beyond the families is refused" ||
  { fail "array index 3"; cat err.txt; }
"$PYTHON3" "$top_srcdir/postproc/merge.py" merged.nc small-gaussian.nc small-orthogonal.nc small-uniform.nc >/dev/null ||
  fail "merge.py"
# The array jobs ran with the OpenBLAS core jobs/openblas-core.sh chose
# (phase.sbatch sources it); the full run takes the same one, as README
# says (another core rounds BLAS results differently in the last bits).
. ./jobs/openblas-core.sh
mpi 2 "$LYAPDIAG" run small.ini --quiet --output full.nc || fail "full run"
"$top_builddir/tests/nc_compare" full.nc merged.nc >compare.txt && pass "merged file equals the full run bit for bit" ||
  { fail "merged differs"; grep FAIL compare.txt; }
"$top_builddir/tests/check_phase_file" merged.nc >check.txt && pass "merged file passes check_phase_file (stored deck = union)" ||
  { fail "merged checks"; grep FAIL check.txt; }
"$PYTHON3" "$top_srcdir/postproc/merge.py" twice.nc small-gaussian.nc small-gaussian.nc 2>err.txt
grep -q "more than one part" err.txt && pass "merge refuses a family given twice" || fail "merge twice"
finish

#!/bin/sh
# End to end: the default deck inputs/quick.ini on 2 ranks, its NetCDF read
# back and checked against the schema and THEORY.md (check_phase_file),
# then plotted by postproc/plot_phase.py when Debian's python has xarray.
. "${top_srcdir:-.}/tests/lib.sh"
mpi 2 "$LYAPDIAG" run "$top_srcdir/inputs/quick.ini" --output "$WORK/quick.nc" 2>"$WORK/stderr" ||
  { fail "quick.ini run"; cat "$WORK/stderr"; finish; }
grep -q 'lyapdiag: .* tasks, 100% of the work' "$WORK/stderr" && pass "progress reported" || fail "no progress line"
"$top_builddir/tests/check_phase_file" "$WORK/quick.nc" && pass "quick.nc checks" || fail "quick.nc checks"
if "$PYTHON3" -c 'import xarray, matplotlib, netCDF4' 2>/dev/null; then
  "$PYTHON3" "$top_srcdir/postproc/plot_phase.py" "$WORK/quick.nc" -o "$WORK/quick.png" &&
    [ -s "$WORK/quick.png" ] && pass "plot_phase.py wrote quick.png" || fail "plot_phase.py"
else
  echo "SKIP: plotting: $PYTHON3 lacks xarray/matplotlib/netCDF4 (apt-get install python3-xarray python3-netcdf4 python3-matplotlib)"
fi
finish

#!/bin/sh
# Issue 12: a deck whose bias variances are all 0 writes exactly the file
# of a deck without biases (same variables, same bits), whatever input_m0
# (positive homogeneity); a deck with biases (tests/decks/bias.ini) gives
# bit-identical files on 1 and 3 ranks, with the bias_variance axis, and
# one stopped by SIGUSR1 and resumed gives the uninterrupted file (both
# with pairs of inputs too); biases and pairs on the other families' paths
# run and pass check_phase_file, pairs without biases have no bias axis;
# biases in single precision are refused with one line.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/small.ini
sed 's/^variances .*/&\nbias_variances = 0/' "$deck" >zero.ini
sed 's/^seed .*/&\ninput_m0 = 3.5/' zero.ini >zero_m0.ini
sed 's/^variances .*/&\nbias_variances = 0, 0.05/' "$deck" >biased.ini
sed 's/^seed .*/&\ninput_cosine = 0.5/' "$deck" >cosine.ini
mpi 1 "$LYAPDIAG" run "$deck" --quiet --output plain.nc || { fail "run without the key"; finish; }
for d in zero zero_m0; do
  mpi 1 "$LYAPDIAG" run $d.ini --quiet --output $d.nc || { fail "run $d.ini"; continue; }
  "$top_builddir/tests/nc_compare" plain.nc $d.nc >$d.txt && pass "$d.ini writes the file of small.ini bit for bit" ||
    { fail "$d.ini differs from small.ini"; grep FAIL $d.txt; }
done
ncdump -h plain.nc | grep -Eq '(bias_variance|signal_|tail_index|phase_bias)' && fail "a file without biases mentions biases" || pass "no bias axis or variable without biases"
bias=$top_srcdir/tests/decks/bias.ini
mpi 1 "$LYAPDIAG" run "$bias" --quiet --output bias1.nc && mpi 3 "$LYAPDIAG" run "$bias" --quiet --output bias3.nc ||
  { fail "bias.ini runs"; finish; }
"$top_builddir/tests/nc_compare" bias1.nc bias3.nc >bias.txt && pass "bias.ini: np 1 and np 3 bit-identical" ||
  { fail "bias.ini: np 1 and np 3 differ"; grep FAIL bias.txt; }
"$top_builddir/tests/check_phase_file" bias1.nc >bias_check.txt && pass "bias1.nc passes check_phase_file (schema, dimensions, theory)" ||
  { fail "bias1.nc checks"; grep FAIL bias_check.txt; }
ncdump -h bias1.nc >bias.cdl
for v in 'bias_variance = 2' 'double signal_mean(family, width, slope, variance, bias_variance, depth)' \
         'double tail_index(family, width, slope, variance)' 'byte phase_bias(family, width, slope, variance, bias_variance)' \
         'double corr_mean(family, width, slope, variance, bias_variance, depth)'; do
  grep -q "$v" bias.cdl && pass "bias1.nc has $v" || fail "bias1.nc lacks $v"
done
# postproc/plot_bias.py reads it: its table gives the file's exact median.
if "$PYTHON3" -c 'import xarray, matplotlib, netCDF4' 2>/dev/null; then
  "$PYTHON3" "$top_srcdir/postproc/plot_bias.py" bias1.nc -o bias1.png --depth 60 --bias-variance 0.05 &&
    [ -s bias1.png ] && pass "plot_bias.py wrote bias1.png" || fail "plot_bias.py"
  table=$("$PYTHON3" "$top_srcdir/postproc/plot_bias.py" bias1.nc --table --depth 60 --bias-variance 0.05 | awk '$1 == 4 { print $3 }')
  file=$("$PYTHON3" -c 'import xarray as x; d = x.open_dataset("bias1.nc").sel(family="gaussian", slope=0.1, width=4, bias_variance=0.05, depth=60); v = d.variance.values; import numpy as n; print("%.4g" % d.signal_median_exact.sel(variance=v[n.argmin(abs(v - 2 / 1.01))]).item())')
  [ -n "$table" ] && [ "$table" = "$file" ] && pass "plot_bias.py --table: exact median at d = 4 is the file's ($table)" ||
    fail "plot_bias.py --table says '$table', the file '$file'"
else
  echo "SKIP: plot_bias.py: $PYTHON3 lacks xarray/matplotlib/netCDF4 (apt-get install python3-xarray python3-netcdf4 python3-matplotlib)"
fi
# Stop (SIGUSR1) after the first finished task, resume: the same file.
sed -e 's/^widths .*/widths = 2, 4, 8/' -e 's/^replicas .*/replicas = 100/' -e 's/^depths .*/depths = 5, 1500/' \
    -e 's/^file .*/file = long.nc\ncheckpoint_seconds = 0/' "$bias" >long.ini
"$LYAPDIAG" run long.ini --quiet --output long_ref.nc || fail "long.ini reference run"
"$LYAPDIAG" run long.ini --quiet --output long.nc 2>long.err &
pid=$!
i=0
while ! ncdump -v done long.nc.partial 2>/dev/null | sed -n '/^ done =/,/;/p' | grep -q 1 && [ $i -lt 600 ]; do
  sleep 0.1; i=$((i + 1))
done
stop_and_wait $pid
[ "$status" -eq 3 ] && [ -e long.nc.partial ] && pass "bias deck stopped by SIGUSR1: exit 3, checkpoint kept" ||
  { fail "bias deck stop: exit $status"; cat long.err; }
"$LYAPDIAG" run long.ini --quiet --output long.nc --resume && "$top_builddir/tests/nc_compare" long_ref.nc long.nc >long.txt &&
  pass "bias deck resumed: bit-identical to the uninterrupted run" || { fail "bias deck resume differs"; grep FAIL long.txt; }
for d in biased cosine; do
  mpi 2 "$LYAPDIAG" run $d.ini --quiet --output $d.nc && "$top_builddir/tests/check_phase_file" $d.nc >$d.txt &&
    pass "$d.ini (small.ini's families: $(sed -n 's/^families *= *//p' "$deck")) runs and passes check_phase_file" ||
    { fail "$d.ini"; grep FAIL $d.txt; }
done
ncdump -h cosine.nc | grep -q 'double corr_mean(family, width, slope, variance, depth)' &&
  pass "pairs without biases: corr_mean(family, width, slope, variance, depth)" || fail "cosine.nc's corr_mean"
sed 's/^seed .*/&\nprecision = single/' biased.ini >single.ini
expect_error "biases in single precision refused" 1 "error: single.ini: \[grid\] bias_variances > 0: family .* single precision has no biases; use \[sampling\] precision = double" \
  "$LYAPDIAG" run single.ini --output single.nc
[ ! -e single.nc ] && pass "nothing written for the refused deck" || fail "output left by a refused deck"
finish

#!/bin/sh
# Issue 12: a deck whose bias variances are all 0 writes exactly the file
# of a deck without biases (same variables, same bits), whatever input_m0
# (positive homogeneity); and decks asking for what the sweep does not
# compute yet (biases > 0, two inputs) are refused with one line.
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
expect_error "biases refused until simulated" 1 "error: biased.ini: \[grid\] bias_variances > 0: .*not simulated yet; use bias_variances = 0" \
  "$LYAPDIAG" run biased.ini --output biased.nc
expect_error "two inputs refused until computed" 1 "error: cosine.ini: \[sampling\] input_cosine: .*not computed yet; use input_cosine = off" \
  "$LYAPDIAG" run cosine.ini --output cosine.nc
[ ! -e biased.nc ] && [ ! -e cosine.nc ] && pass "nothing written for refused decks" || fail "output left by a refused deck"
finish

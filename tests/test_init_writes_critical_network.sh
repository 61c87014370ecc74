#!/bin/sh
# `lyapdiag init` writes a network at the critical variance, read back by
# tests/check_init_file: dimensions, s2_crit, the entries' law, orthogonal
# blocks, looks-linear structure, the candidate choice re-scored from the
# stored weights, and (1000 candidates) mean log gain 0 within 4 stderr.
# Reproducible from the seed; bad arguments refused with one line, exit 2
# (1 for runtime failures) and no output file. postproc/load_init_weights.py
# loads the file and agrees (when Debian's python has xarray).
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
L=$LYAPDIAG
CHECK=$top_builddir/tests/check_init_file

# good NAME DEPTH WIDTH ARGS...: init into NAME.nc, then check it.
good() {
  local name=$1 depth=$2 width=$3; shift 3
  if "$L" init --width "$width" --depth "$depth" --output "$name.nc" "$@" >"$name.out" 2>&1 &&
    "$CHECK" "$name.nc" "$depth" "$width" >"$name.check" 2>&1; then
    pass "$name: $(grep -c '^PASS' "$name.check") checks; $(grep '^chosen' "$name.check")"
  else
    fail "$name:"; cat "$name.out" "$name.check"
  fi
}

good gaussian 50 8 --slope 0.1
good gaussian-8-candidates 50 8 --slope 0.1 --candidates 8
sed -n 's/^lyapdiag: wrote/  wrote/p' gaussian-8-candidates.out
good gaussian-critical 50 8 --slope 0.1 --candidates 1000
good orthogonal-critical 50 8 --slope 0.1 --candidates 1000 --family orthogonal
good looks-linear 50 8 --slope 0.1 --candidates 8 --family looks-linear
good looks-linear-orthogonal 50 8 --slope 0 --candidates 8 --family looks-linear-orthogonal
good uniform-user 50 8 --slope 0.1 --family uniform --variance 2
grep -q '^PASS: variance 2 (user)' uniform-user.check && pass "uniform: variance_kind user, variance 2" ||
  { fail "uniform: variance attribute"; grep variance uniform-user.check; }

# Reproducible: the seed alone fixes the weights (not the scoring inputs);
# the variance scales them (sqrt(8/8) / sqrt(2/8) = 2 exactly).
"$L" init --width 8 --slope 0.1 --depth 50 --candidates 4 --seed 7 --output a.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --candidates 4 --seed 7 --output b.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --candidates 4 --seed 8 --output c.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --seed 7 --inputs 3 --output d.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --seed 7 --inputs 5 --output e.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --seed 7 --variance 2 --output s2.nc >/dev/null &&
  "$L" init --width 8 --slope 0.1 --depth 50 --seed 7 --variance 8 --output s8.nc >/dev/null ||
  fail "reproducibility runs"
"$CHECK" --compare a.nc b.nc && pass "same seed: identical weights" || fail "same seed gave different weights"
"$CHECK" --compare a.nc c.nc >/dev/null && fail "seeds 7 and 8 gave the same weights" || pass "different seed: different weights"
"$CHECK" --compare d.nc e.nc && pass "--inputs does not change a candidate's weights" || fail "--inputs changed the weights"
"$CHECK" --compare s2.nc s8.nc 2 && pass "--variance 8 = 2 x the weights of --variance 2" || fail "--variance does not just rescale"

# Bad command lines: exit 2, one line naming the flag, no file.
bad() {
  local name=$1 pattern=$2; shift 2
  expect_error "$name" 2 "$pattern" "$L" init "$@"
}
base="--width 8 --slope 0.1 --depth 50"
bad "width 0" "--width must be a whole number from 1 to 65536, not 0" --width 0 --slope 0.1 --depth 50 --output bad.nc
bad "fractional width" "--width must be a whole number" --width 2.5 --slope 0.1 --depth 50 --output bad.nc
bad "slope above 1" "--slope must lie in \[0, 1\]" --width 8 --slope 1.5 --depth 50 --output bad.nc
bad "negative slope" "--slope must lie in \[0, 1\]" --width 8 --slope -0.1 --depth 50 --output bad.nc
bad "depth 0" "--depth must be a whole number from 1" $base --depth 0 --output bad.nc
bad "candidates 0" "--candidates must be a whole number from 1" $base --candidates 0 --output bad.nc
bad "inputs 0" "--inputs must be a whole number from 1" $base --inputs 0 --output bad.nc
bad "variance 0" "--variance must be > 0" $base --variance 0 --output bad.nc
bad "negative seed" "--seed must be a whole number from 0 to 2\^64-1" $base --seed -1 --output bad.nc
bad "odd looks-linear width" "--width 7 is odd.*give an even --width" --width 7 --slope 0.1 --depth 50 --family looks-linear --output bad.nc
bad "uniform needs --variance" "--family uniform has no closed-form critical variance.*give --variance" $base --family uniform --output bad.nc
bad "ReLU needs --variance" "--slope 0 \(ReLU\) has no finite critical variance.*give --variance" --width 8 --slope 0 --depth 50 --output bad.nc
bad "unknown family" "unknown family 'normal'; choose from" $base --family normal --output bad.nc
bad "unknown option" "unknown option '--fast'" $base --fast yes --output bad.nc
bad "missing --output" "--output FILE is required" $base
bad "--output without value" "--output needs a value" $base --output
bad "missing --depth" "--width, --slope and --depth are required" --width 8 --slope 0.1 --output bad.nc
# Runtime failures: exit 1, still no file.
expect_error "output in a missing directory" 1 "error: --output /nonexistent/dir/x.nc: directory /nonexistent/dir does not exist" \
  "$L" init $base --output /nonexistent/dir/x.nc
mkdir -p outdir
expect_error "output is a directory" 1 "error: --output outdir: is a directory" "$L" init $base --output outdir
expect_error "more memory than the node has" 1 "error: the network needs about [0-9.]+ GB .* reduce --depth or --width" \
  "$L" init --width 65536 --slope 0.1 --depth 100000 --output bad.nc
mkdir -p blocked.nc.tmp # the temporary file cannot be created: the write fails after the work
expect_error "write failure" 1 "error: blocked.nc: cannot write .*--output" "$L" init $base --output blocked.nc
[ -z "$(ls bad.nc* blocked.nc 2>/dev/null)" ] && [ -z "$(ls outdir)" ] && pass "no output file after any error" ||
  fail "files left after errors: $(ls bad.nc* blocked.nc outdir/* 2>/dev/null)"

"$L" --help | grep -q 'lyapdiag init --width D --slope A --depth L --output W.nc' && pass "--help documents init" ||
  fail "--help lacks init"

if "$PYTHON3" -c 'import xarray, netCDF4' 2>/dev/null; then
  if "$PYTHON3" "$top_srcdir/postproc/load_init_weights.py" gaussian-8-candidates.nc >load.out 2>&1; then
    pass "load_init_weights.py: $(grep -c '^PASS' load.out) checks; $(grep '^mean log' load.out | cut -d';' -f1)"
    grep -q '^torch not installed' load.out && echo "  (torch not installed: numpy pass only)"
  else
    fail "load_init_weights.py"; cat load.out
  fi
else
  echo "SKIP: load_init_weights.py: $PYTHON3 lacks xarray/netCDF4 (apt-get install python3-xarray python3-netcdf4)"
fi
finish

#!/bin/sh
# The README's NCO and CDO recipes work on the program's own files (issue
# 14: "every tool the README names is tested"):
#   - `ncks -v variance_crit phase.nc` prints the boundary;
#   - CDO reads at most 3 dimensions without time and no string variable,
#     so `cdo sinfon phase.nc` skips every 4-D and 5-D variable and fails
#     on the coordinate family; the README's ncwa line cuts one (family,
#     slope) slice, every variable over (width, variance[, depth]), which
#     CDO reads whole (sinfon exit 0, no warning, every variable listed) and
#     computes on (infon's lambda minimum is the slice's), and whose values
#     are phase.nc's at that family and slope, bit for bit;
#   - the job-array merge with NCO (`ncks --mk_rec_dmn family` on each
#     part, then `ncrcat`) gives the data of one run of the whole deck, bit
#     for bit.
# Each part is skipped, and said, when its tool is missing (apt-get install
# nco cdo; jobs/quickstart.sh check installs both); the whole test is
# skipped when neither is installed.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
have_nco=0 have_cdo=0
command -v ncwa >/dev/null 2>&1 && command -v ncks >/dev/null 2>&1 && command -v ncrcat >/dev/null 2>&1 && have_nco=1
command -v cdo >/dev/null 2>&1 && have_cdo=1
if [ "$have_nco" -eq 0 ]; then
  echo "SKIP: NCO (ncks, ncwa, ncrcat) is not installed (apt-get install nco): its recipes and the CDO slice untested"
  exit 77
fi
[ "$have_cdo" -eq 0 ] && echo "SKIP: cdo is not installed (apt-get install cdo): the CDO part is untested; NCO's runs"

# phase.nc: the quick deck's grid (families, widths, slopes 0.01, 0.1, 0.5,
# variances) with 4 replicas and depths 10, 100, in a second.
sed -e 's/^replicas .*/replicas = 4/' -e 's/^depths .*/depths = 10, 100/' "$top_srcdir/inputs/quick.ini" >quick4.ini
mpi 2 "$LYAPDIAG" run quick4.ini --quiet --output phase.nc || { fail "quick deck (4 replicas) run"; finish; }

# NCO: the boundary.
if ncks -v variance_crit phase.nc >ncks.out 2>&1 && grep -q '^ *variance_crit = ' ncks.out; then
  pass "ncks -v variance_crit phase.nc prints the boundary"
else
  fail "ncks -v variance_crit phase.nc:"; tail -5 ncks.out
fi

# The README's slice, exactly as written there.
recipe=$(sed -n 's/^    \(ncwa -C -a family,slope .*\)$/\1/p' "$top_srcdir/README")
case $recipe in
  *" phase.nc slice.nc") pass "README's slice recipe: $recipe" ;;
  *) fail "README has no line '    ncwa -C -a family,slope ... phase.nc slice.nc' (found '$recipe')"; finish ;;
esac
sh -c "$recipe" 2>ncwa.err && [ -s slice.nc ] && pass "ncwa wrote slice.nc" || { fail "ncwa:"; cat ncwa.err; finish; }
if "$PYTHON3" -c 'import xarray, netCDF4' 2>/dev/null; then
  "$PYTHON3" - <<'PY' >values.out 2>&1 && pass "slice.nc: $(cat values.out)" || { fail "slice values:"; cat values.out; }
import numpy as np, xarray as xr
full, cut = xr.open_dataset("phase.nc"), xr.open_dataset("slice.nc")
want = full.isel(family=0).sel(slope=0.1)
assert cut["slope"].dims == () and cut["slope"].item() == 0.1, cut["slope"]  # the cut's slope, a scalar
data = [v for v in cut.data_vars if v != "slope"]
assert set(data) == {v for v in want.data_vars if v != "family"}, (sorted(data), sorted(want.data_vars))
for v in data:
    assert all(d in ("width", "variance", "depth", "spectrum_index") for d in cut[v].dims), (v, cut[v].dims)
    a = np.asarray(want[v].transpose(*cut[v].dims).values, dtype=float)
    b = np.asarray(cut[v].values, dtype=float)
    assert np.array_equal(a.view(np.int64), b.view(np.int64)), v  # bit for bit, NaN and inf included
print(f"{len(data)} variables over (width, variance[, depth]) equal phase.nc's at family 0 "
      f"({want.family.item()}), slope 0.1, bit for bit")
PY
else
  echo "SKIP: $PYTHON3 lacks xarray/netCDF4: the slice's values are not compared"
fi

if [ "$have_cdo" -eq 1 ]; then
  cdo sinfon slice.nc >sinfon.out 2>sinfon.err; status=$?
  nvars=$(ncdump -h slice.nc | grep -E '^	(double|byte) [a-z_]+\(' | grep -cvE '^	double variance\(')
  listed=$(grep -cE '^ +[0-9]+ : unknown +lyapdiag' sinfon.out)
  if [ "$status" -eq 0 ] && ! grep -qiE 'warning|error' sinfon.err && [ "$listed" -eq "$nvars" ] && [ "$nvars" -gt 20 ]; then
    pass "cdo sinfon slice.nc: exit 0, no warning, all $listed variables"
  else
    fail "cdo sinfon slice.nc: exit $status, $listed of $nvars variables listed:"; cat sinfon.err; cat sinfon.out
  fi
  cdo -s infon -selname,lambda slice.nc >infon.out 2>&1
  cdo_min=$(awk '$NF == "lambda" { print $(NF-4) }' infon.out)
  ref_min=$(ncks --trd -H -C -v lambda slice.nc | sed -n 's/.*lambda\[[0-9]*\]=\([^ ]*\).*/\1/p' |
            awk 'NR == 1 || $1 + 0 < m { m = $1 + 0 } END { print m }')
  if [ -n "$cdo_min" ] && near "$cdo_min" "$ref_min" 5e-5; then
    pass "cdo infon: lambda's minimum over the slice $cdo_min (the file's $ref_min)"
  else
    fail "cdo infon: lambda minimum '$cdo_min', the file's '$ref_min':"; cat infon.out
  fi
fi

# NCO's job-array merge: one part per family, family made the record
# dimension, concatenated; the data equal one run of the whole deck.
for f in gaussian orthogonal; do
  sed -E "s/^([[:space:]]*families[[:space:]]*=).*/\1 $f/" "$top_srcdir/tests/decks/small.ini" >part-$f.ini
  mpi 2 "$LYAPDIAG" run part-$f.ini --quiet --output part-$f.nc || fail "part $f"
  ncks -O --mk_rec_dmn family part-$f.nc rec-$f.nc 2>>nco.err || fail "ncks --mk_rec_dmn family part-$f.nc"
done
ncrcat -O rec-gaussian.nc rec-orthogonal.nc merged.nc 2>>nco.err || { fail "ncrcat:"; cat nco.err; }
sed -E "s/^([[:space:]]*families[[:space:]]*=).*/\1 gaussian, orthogonal/" "$top_srcdir/tests/decks/small.ini" >both.ini
mpi 2 "$LYAPDIAG" run both.ini --quiet --output full.nc || fail "full run"
ncdump -v family merged.nc | grep -q 'family = "gaussian", "orthogonal"' && pass "merged.nc: families gaussian, orthogonal" ||
  fail "merged.nc families: $(ncdump -v family merged.nc | grep 'family =')"
"$top_builddir/tests/nc_compare" full.nc merged.nc >compare.txt &&
  pass "ncks --mk_rec_dmn family + ncrcat: every variable equals one run of the whole deck bit for bit" ||
  { fail "NCO merge differs"; grep FAIL compare.txt; }
finish

#!/bin/sh
# End to end: the default deck inputs/quick.ini on 2 ranks, its NetCDF read
# back and checked against the schema and THEORY.md (check_phase_file),
# then plotted when Debian's python has xarray: plot_phase.py (FILE.png by
# default, --width, --depth), plot_spectrum.py (panels wrapped 4 a row,
# --widths), plot_finite_depth.py (at d = 2 s2_crit lies outside the grid:
# a warning and the exact law at s2_crit, no Monte Carlo points).
. "${top_srcdir:-.}/tests/lib.sh"
mpi 2 "$LYAPDIAG" run "$top_srcdir/inputs/quick.ini" --output "$WORK/quick.nc" 2>"$WORK/stderr" ||
  { fail "quick.ini run"; cat "$WORK/stderr"; finish; }
grep -q 'lyapdiag: .* tasks, 100% of the work' "$WORK/stderr" && pass "progress reported" || fail "no progress line"
"$top_builddir/tests/check_phase_file" "$WORK/quick.nc" && pass "quick.nc checks" || fail "quick.nc checks"
if "$PYTHON3" -c 'import xarray, matplotlib, netCDF4' 2>/dev/null; then
  "$PYTHON3" "$top_srcdir/postproc/plot_phase.py" "$WORK/quick.nc" -o "$WORK/quick.png" &&
    [ -s "$WORK/quick.png" ] && pass "plot_phase.py wrote quick.png" || fail "plot_phase.py"
  cd "$WORK" || exit 99
  export LYAPDIAG # postproc/lyapdiag.py runs this build's program
  P=$top_srcdir/postproc
  # png FILE: "WIDTH HEIGHT" of a PNG in pixels (matplotlib reads it).
  # script_error NAME PATTERN CMD...: CMD exits 2 with exactly one stderr line matching PATTERN.
  script_error() {
    local name=$1 pattern=$2; shift 2
    "$@" >script.out 2>script.err; local got=$?
    if [ "$got" -eq 2 ] && [ "$(wc -l <script.err)" -eq 1 ] && grep -Eq -- "$pattern" script.err; then
      pass "$name: exit 2, '$(cat script.err)'"
    else
      fail "$name: exit $got (want 2), stderr:"; cat script.err
    fi
  }
  png() { "$PYTHON3" -c 'import sys, matplotlib.image as m; h, w = m.imread(sys.argv[1]).shape[:2]; print(w, h)' "$1"; }
  # plot_phase.py: FILE.png by default (the README's word), --width and --depth.
  cp quick.nc named.nc && rm -f named.png
  "$PYTHON3" "$P/plot_phase.py" named.nc >named.out && [ -s named.png ] &&
    grep -qx 'plot_phase.py: wrote named.png' named.out && pass "plot_phase.py FILE.nc writes FILE.png" ||
    fail "plot_phase.py named.nc did not write named.png"
  "$PYTHON3" "$P/plot_phase.py" quick.nc --width 4 16 --depth 100 -o depth100.png >/dev/null && [ -s depth100.png ] &&
    pass "plot_phase.py --width 4 16 --depth 100 wrote depth100.png ($(png depth100.png) px)" ||
    fail "plot_phase.py --width --depth"
  "$PYTHON3" "$P/plot_phase.py" quick.nc --width 4,16 --depth 100 --table >depth100.txt
  file_pv=$("$PYTHON3" -c 'import xarray as xr; ds = xr.open_dataset("quick.nc")
print("%.4g" % float(ds.p_vanish.sel(family="gaussian", width=16, slope=0.1, variance=2.0, depth=100)))')
  table_pv=$(awk '$1 == 16 { print $8 }' depth100.txt)
  [ "$(awk '$1 ~ /^[0-9]+$/' depth100.txt | wc -l)" -eq 2 ] && [ -n "$table_pv" ] && [ "$table_pv" = "$file_pv" ] &&
    pass "plot_phase.py --table --width 4,16 --depth 100: 2 widths, p_vanish at d = 16 is the file's ($file_pv)" ||
    { fail "plot_phase.py --table --depth: p_vanish '$table_pv', the file '$file_pv'"; cat depth100.txt; }
  script_error "plot_phase.py: a depth not recorded" "plot_phase.py: depth 7 not in file \(has: 10, 100, 1000\)" \
    "$PYTHON3" "$P/plot_phase.py" quick.nc --depth 7
  script_error "plot_phase.py: a width not in the file" "plot_phase.py: width 3 not in the file; it has 2, 4, 8, 16, 32, 64" \
    "$PYTHON3" "$P/plot_phase.py" quick.nc --width 3
  # plot_spectrum.py: 6 widths wrap to rows of at most 4 panels; --widths chooses.
  "$PYTHON3" "$P/plot_spectrum.py" quick.nc >/dev/null && set -- $(png quick_spectrum.png) &&
    [ "$1" -le 2100 ] && [ "$2" -gt 800 ] && pass "plot_spectrum.py: 6 widths in rows of 4 panels ($1 x $2 px)" ||
    fail "plot_spectrum.py: quick_spectrum.png is $(png quick_spectrum.png) px (want <= 2100 wide, 2 rows)"
  "$PYTHON3" "$P/plot_spectrum.py" quick.nc --widths 4,16 -o two.png >/dev/null && set -- $(png two.png) &&
    [ "$1" -le 1100 ] && [ "$2" -lt 700 ] && pass "plot_spectrum.py --widths 4,16: one row of 2 panels ($1 x $2 px)" ||
    fail "plot_spectrum.py --widths 4,16: two.png is $(png two.png) px"
  script_error "plot_spectrum.py: a width not in the file" "plot_spectrum.py: width 5 not in the file; it has 2, 4, 8, 16, 32, 64" \
    "$PYTHON3" "$P/plot_spectrum.py" quick.nc --widths 5
  # plot_finite_depth.py at d = 2: s2_crit = 10.24 lies outside the grid (1 to 4):
  # a warning, no Monte Carlo points, the exact law at s2_crit itself (theory's).
  "$PYTHON3" "$P/plot_finite_depth.py" quick.nc --width 2 -o d2.png >d2.out 2>d2.err; status=$?
  if [ "$status" -eq 0 ] && [ -s d2.png ] &&
     grep -q "^plot_finite_depth.py: warning: gaussian, Lyapunov scale at d = 2, a = 0.1: s2 = 10.24 lies outside the file's variances (1 to 4): no Monte Carlo points for it; the curve is the exact law at that s2 (lyapdiag theory)" d2.err; then
    pass "plot_finite_depth.py --width 2: exit 0, d2.png, and '$(grep gaussian d2.err | cut -c1-150)...'"
  else
    fail "plot_finite_depth.py --width 2: exit $status"; cat d2.err
  fi
  "$PYTHON3" "$P/plot_finite_depth.py" quick.nc --width 2 --table --depth 1000 >d2.txt 2>/dev/null
  law=$("$LYAPDIAG" theory --width 2 --slope 0.1 --family gaussian --depth 1000 --format csv |
    awk -F, '$2 == "Lyapunov" { printf "%.4g", $13 }')
  row=$(awk '$1 == "gaussian" && $2 == "Lyapunov" { print $3, $4, $6, $7 }' d2.txt)
  [ -n "$law" ] && [ "$row" = "10.24 - - $law" ] &&
    pass "plot_finite_depth.py --table: gaussian Lyapunov at d = 2 is s2 10.24, no Monte Carlo, exact p_vanish $law (theory's)" ||
    { fail "plot_finite_depth.py --table: '$row', want '10.24 - - $law'"; cat d2.txt; }
  "$PYTHON3" "$P/plot_finite_depth.py" quick.nc --width 8 --table >d8.txt 2>d8.err
  ! grep -q 'gaussian, Lyapunov' d8.err && grep -Eq '^gaussian +Lyapunov +2.882 +2.9 ' d8.txt &&
    pass "plot_finite_depth.py at d = 8: s2_crit 2.882 has grid variance 2.9 within 2%: Monte Carlo, no warning" ||
    { fail "plot_finite_depth.py at d = 8"; cat d8.err d8.txt; }
else
  echo "SKIP: plotting: $PYTHON3 lacks xarray/matplotlib/netCDF4 (apt-get install python3-xarray python3-netcdf4 python3-matplotlib)"
fi
finish

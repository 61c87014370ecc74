# lib.sh: shared helpers for lyapdiag's shell tests (sourced).
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}" "${MPIEXEC:=mpiexec}" "${PYTHON3:=/usr/bin/python3}"
top_srcdir=$(cd "$top_srcdir" && pwd) top_builddir=$(cd "$top_builddir" && pwd)
LYAPDIAG=$top_builddir/lyapdiag
WORK=$top_builddir/tests/work/$(basename "$0" .sh)
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# mpirun with N ranks, oversubscribing the 2-core machines we test on.
mpi() { local n=$1; shift; "$MPIEXEC" --oversubscribe -np "$n" "$@"; }

# expect_error NAME STATUS PATTERN CMD...: CMD exits with STATUS and prints
# exactly one line of its own on stderr (mpirun's banners aside), matching
# PATTERN (grep -E).
expect_error() {
  local name=$1 want=$2 pattern=$3; shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"; local got=$?
  local lines; lines=$(grep -c '^lyapdiag' "$WORK/err")
  if [ "$got" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pattern" "$WORK/err"; then
    pass "$name: exit $got, '$(grep '^lyapdiag' "$WORK/err")'"
  else
    fail "$name: exit $got (want $want), $lines stderr lines (want 1), stderr:"; cat "$WORK/err"
  fi
}

# near VALUE REFERENCE TOLERANCE: |value - reference| <= tolerance.
near() { awk -v x="$1" -v r="$2" -v t="$3" 'BEGIN { d = x - r; if (d < 0) d = -d; exit !(x != "" && d <= t) }'; }

# stop_and_wait PID: SIGUSR1 to a run, then its exit status in $status,
# waiting 60 s at most (then SIGKILL and a failure): never a hang.
stop_and_wait() {
  kill -USR1 "$1"
  local i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; fail "run $1 ignored SIGUSR1 for 60 s"; fi
  wait "$1"; status=$?
}
finish() { echo "$failures failed"; [ "$failures" -eq 0 ]; exit $?; }

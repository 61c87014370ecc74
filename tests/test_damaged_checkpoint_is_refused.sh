#!/bin/sh
# A checkpoint is not trusted byte for byte (issue 10): every variable is
# stored with a fletcher32 checksum, so one flipped bit in a finished
# task's lambda (6 different bits, each on a fresh copy of a checkpoint
# holding some finished tasks) makes --resume refuse the file, naming the
# file and the variable, saying it is damaged and kept for inspection
# (never advising to delete it), and leaves it byte for byte as it was.
# The undamaged checkpoint still resumes, and ncdump reads the checksummed
# files.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/resume.ini
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }

"$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" run "$deck" --quiet --output ok.nc 2>stop.err &
pid=$!
i=0; while [ "$(done_tasks ok.nc.partial)" -lt 3 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
stop_and_wait $pid
kept=$(done_tasks ok.nc.partial)
[ "$status" -eq 3 ] && [ "$kept" -ge 3 ] && pass "checkpoint with $kept finished tasks" ||
  { fail "could not make a checkpoint: exit $status, $kept tasks"; cat stop.err; finish; }
ncdump -hs ok.nc.partial | grep -q 'lambda:_Fletcher32 = "true"' && pass "lambda is stored with a fletcher32 checksum" ||
  fail "lambda has no checksum"
unprotected=$(ncdump -hs ok.nc.partial | awk '/^\t[a-z]+ [a-z_]+\(/ { split($2, v, "("); vars[v[1]] = $1 }
  /:_Fletcher32 = "true"/ { split($1, v, ":"); sum[v[1]] = 1 }
  END { for (n in vars) if (!sum[n] && vars[n] != "string") printf "%s ", n }')
[ -z "$unprotected" ] && pass "every non-string variable has a checksum" || fail "variables without checksum: $unprotected"

for bit in 0 9 23 40 52 63; do
  cp ok.nc.partial bit$bit.nc.partial
  flipped=$("$top_builddir/tests/flip_bit" bit$bit.nc.partial lambda $bit) || { fail "flip_bit $bit"; continue; }
  cp bit$bit.nc.partial damaged.copy
  expect_error "bit $bit of a stored lambda flipped" 1 \
    "error: bit$bit.nc.partial: variable lambda does not read back \(NetCDF: HDF error\): the file is damaged .*kept for inspection: move it aside \(mv bit$bit.nc.partial bit$bit.nc.partial.damaged\) and run again" \
    "$LYAPDIAG" run "$deck" --quiet --output bit$bit.nc --resume
  echo "  ($flipped)"
  grep -qi 'delete' "$WORK/err" && fail "bit $bit: the message advises deleting the file"
  cmp -s bit$bit.nc.partial damaged.copy && [ ! -e bit$bit.nc ] && [ ! -e bit$bit.nc.lock ] &&
    pass "bit $bit: the damaged file is kept unchanged, no output or lock written" ||
    fail "bit $bit: the damaged checkpoint was changed or output written"
done

# The intact checkpoint resumes (briefly: stopped again after it resumed).
"$LYAPDIAG" run "$deck" --output ok.nc --resume 2>ok.err &
pid=$!
i=0; while ! grep -q 'resuming from' ok.err && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
stop_and_wait $pid
grep -q "resuming from ok.nc.partial: $kept/24" ok.err && pass "the intact checkpoint resumes ($kept tasks)" ||
  { fail "intact checkpoint refused"; cat ok.err; }
finish

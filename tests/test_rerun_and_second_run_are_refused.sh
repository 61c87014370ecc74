#!/bin/sh
# No finished work is discarded by mistake, and two runs never write one
# output at once (issue 10):
#   - while a run writes FILE, a second run on FILE (with or without
#     --resume) is refused, naming the path and the process holding
#     FILE.lock; kill -9 of the first leaves no lock behind (fcntl locks die
#     with their process), so a third run with --resume starts;
#   - a rerun without --resume over an existing FILE.partial is refused
#     before any work, naming its tasks and both ways on, and leaves it
#     untouched; --overwrite discards it knowingly; --resume with
#     --overwrite is a usage error;
#   - a finished run leaves no FILE.lock.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/resume.ini

# done_tasks FILE: finished tasks in a checkpoint (0 if unreadable).
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }
# wait_until CMD...: polls CMD every 0.1 s for 60 s at most.
wait_until() { i=0; until "$@" || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done; }
has_tasks() { [ "$(done_tasks "$1")" -ge "$2" ]; }
# stop PID: SIGUSR1, then wait (60 s at most, then SIGKILL); sets $status.
stop() {
  kill -USR1 "$1"
  i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; fail "run $1 ignored SIGUSR1"; }
  wait "$1"; status=$?
}

# 1. A second run on the same output is refused, naming the holder.
"$LYAPDIAG" run "$deck" --quiet --output a.nc 2>first.err &
first=$!
wait_until has_tasks a.nc.partial 1
cp a.nc.partial before.partial
expect_error "second run on the same output" 1 \
  "error: a.nc: another lyapdiag run is writing it \(process $first on [^ ]+ holds a.nc.lock\); wait for that run to end or stop it, or write elsewhere with --output" \
  "$LYAPDIAG" run "$deck" --quiet --output a.nc
expect_error "second run with --resume" 1 "a.nc: another lyapdiag run is writing it \(process $first " \
  "$LYAPDIAG" run "$deck" --quiet --output a.nc --resume
kill -KILL $first; wait $first
[ -e a.nc.lock ] && pass "kill -9 leaves the lock file a.nc.lock (but no lock)" || fail "a.nc.lock vanished with kill -9?"
resumed=$(done_tasks a.nc.partial) # the first run may have finished more than one task
"$LYAPDIAG" run "$deck" --output a.nc --resume 2>third.err &
third=$!
wait_until grep -q 'resuming from' third.err
wait_until grep -q "^$third " a.nc.lock
grep -q "^$third " a.nc.lock && pass "a run with --resume after kill -9 takes the lock (pid $third)" ||
  { fail "third run did not take the lock: '$(cat a.nc.lock)'"; cat third.err; }
wait_until has_tasks a.nc.partial $((resumed + 1)) # progress, so the stop is an exit 3, not 4
stop $third
[ "$status" -eq 3 ] && [ ! -e a.nc.lock ] && pass "third run stopped cleanly (exit 3), lock file removed" ||
  { fail "third run: exit $status, lock file $(ls a.nc.lock 2>/dev/null)"; cat third.err; }

# 2. A rerun without --resume would have discarded the checkpoint.
kept=$(done_tasks a.nc.partial)
cp a.nc.partial kept.partial
start=$(date +%s)
expect_error "rerun without --resume" 1 \
  "error: a.nc.partial holds $kept of 24 tasks finished by an earlier run \(gaussian width [0-9]+ slope 0\.[15][^)]*\); continue it with --resume, or discard it with --overwrite" \
  "$LYAPDIAG" run "$deck" --output a.nc
[ $(( $(date +%s) - start )) -le 2 ] && cmp -s a.nc.partial kept.partial && [ ! -e a.nc.lock ] &&
  pass "refused before any work: a.nc.partial untouched ($kept tasks), no lock left" ||
  fail "the refused rerun touched a.nc.partial or took long"
expect_error "rerun on 2 ranks" 1 "a.nc.partial holds $kept of 24 tasks" mpi 2 "$LYAPDIAG" run "$deck" --output a.nc --quiet
expect_error "--resume with --overwrite" 2 "run: --resume keeps FILE.partial and --overwrite discards it" \
  "$LYAPDIAG" run "$deck" --output a.nc --resume --overwrite
"$LYAPDIAG" run "$deck" --quiet --output a.nc --overwrite 2>over.err &
over=$!
wait_until has_tasks a.nc.partial 0   # becomes true as soon as it exists
i=0; while [ "$(done_tasks a.nc.partial)" -ne 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
now=$(done_tasks a.nc.partial)
stop $over
[ "$status" -eq 3 ] && [ "$now" -lt "$kept" ] && pass "--overwrite discards the $kept earlier tasks (checkpoint restarted at $now)" ||
  { fail "--overwrite: exit $status, checkpoint held $now tasks (before: $kept)"; cat over.err; }

# 3. A finished run leaves FILE and nothing else.
cat >tiny.ini <<'INI'
[grid]
families = gaussian
widths = 2
slopes = 0.5
variances = 1
depths = 10
[sampling]
replicas = 4
batch = 2
[output]
file = tiny.nc
INI
mpi 1 "$LYAPDIAG" run tiny.ini --quiet &&
  [ -s tiny.nc ] && [ ! -e tiny.nc.lock ] && [ ! -e tiny.nc.partial ] &&
  pass "a finished run leaves tiny.nc, no tiny.nc.lock or .partial" || fail "files left after a finished run: $(ls tiny.nc*)"

# 4. A finished FILE is rewritten only by its own deck: another deck (or a
#    file lyapdiag did not write) is refused before any work, FILE untouched.
cp tiny.nc tiny.before
"$LYAPDIAG" run tiny.ini --quiet && "$top_builddir/tests/nc_compare" tiny.before tiny.nc >compare.txt &&
  pass "the same deck rewrites tiny.nc (bit for bit the same result)" || fail "rerun of the same deck"
sed 's/^widths = 2/widths = 3/' tiny.ini >other.ini
cp tiny.nc tiny.before # (the rerun's history line differs from the first run's)
expect_error "another deck over a finished file" 1 \
  "error: tiny.nc holds the finished result of another deck \(its \[grid\] widths differs\): write this deck's elsewhere with --output, or replace it with --overwrite" \
  "$LYAPDIAG" run other.ini --quiet
cmp -s tiny.nc tiny.before && [ ! -e tiny.nc.partial ] && [ ! -e tiny.nc.lock ] &&
  pass "tiny.nc untouched, no checkpoint or lock left" || fail "the refused run touched tiny.nc"
echo "my notes" >notes.nc
expect_error "a file lyapdiag did not write" 1 \
  "error: notes.nc exists and is not a file lyapdiag wrote \(NetCDF: Unknown file format\): write elsewhere with --output, or replace it with --overwrite" \
  "$LYAPDIAG" run other.ini --quiet --output notes.nc
"$LYAPDIAG" run other.ini --quiet --overwrite && ! cmp -s tiny.nc tiny.before &&
  pass "--overwrite replaces it knowingly" || fail "--overwrite over a finished file of another deck"
finish

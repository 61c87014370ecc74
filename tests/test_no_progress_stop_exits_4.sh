#!/bin/sh
# A restart that makes no progress stops the requeue loop (issue 10): with
# blocks of replicas longer than the time slot (tests/decks/long_task.ini:
# one block, the smallest piece a checkpoint keeps, takes seconds),
#   - a first run stopped by SIGUSR1 exits 3 as before (finished work kept);
#   - a --resume run stopped by SIGUSR1 before finishing any block exits 4,
#     with one line naming the running units (family, width, slope, block),
#     how far they got and the time they need against the slot they had;
# on 1 rank (rank 0's own unit) and on 2 (a worker's unit, reported with
# its STOPPING message). Every run is bounded: never a hang. (A restart
# that finishes a block makes progress: test_long_task_finishes_across_stops.sh.)
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/long_task.ini

# stop_after SECONDS PID ERRFILE: waits until the run has started (its
# first checkpoint, or its "resuming" line), SECONDS more, sends SIGUSR1,
# and waits for the exit (60 s at most, then SIGKILL); sets $status.
stop_after() {
  i=0
  while ! grep -q 'resuming from\|lyapdiag 0' "$3" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  sleep "$1"
  kill -USR1 "$2"
  i=0
  while kill -0 "$2" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$2" 2>/dev/null; then kill -KILL "$2"; fail "run $2 ignored SIGUSR1 for 60 s"; fi
  wait "$2"; status=$?
}

for n in 1 2; do
  out=np$n.nc
  if [ $n -eq 1 ]; then
    "$LYAPDIAG" run "$deck" --output $out 2>first$n.err &
  else
    "$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" run "$deck" --output $out 2>first$n.err &
  fi
  stop_after 1 $! first$n.err
  [ "$status" -eq 3 ] && grep -q 'stopped by a signal: 0/2 tasks kept' first$n.err &&
    pass "$n rank(s): first run stopped by SIGUSR1: exit 3, checkpoint kept" ||
    { fail "$n rank(s): first run: exit $status (want 3)"; cat first$n.err; }

  if [ $n -eq 1 ]; then
    "$LYAPDIAG" run "$deck" --output $out --resume 2>again$n.err &
  else
    "$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" run "$deck" --output $out --resume 2>again$n.err &
  fi
  stop_after 1 $! again$n.err
  line=$(grep '^lyapdiag: no progress' again$n.err)
  want='no progress: this restart finished no block of replicas in the [0-9]+ s before its stop signal; running: gaussian width 128 slope 0\.[57] \(block [0-9]+ of 8, 1 replica: [0-9]+% done in [0-9]+ s, (needs about [0-9]+ s|more: not one replica finished)\)'
  [ $n -eq 2 ] && want="$want, gaussian width 128 slope 0\.[57] \(block "
  if [ "$status" -eq 4 ] && [ "$(grep -c '^lyapdiag: no progress' again$n.err)" -eq 1 ] &&
     echo "$line" | grep -Eq "$want" && echo "$line" | grep -q "0/2 tasks stay in $out.partial for --resume (exit status 4)"; then
    pass "$n rank(s): restart without progress: exit 4, '$line'"
  else
    fail "$n rank(s): restart without progress: exit $status (want 4), stderr:"; cat again$n.err
  fi
  [ -e $out.partial ] && [ ! -e $out.lock ] && pass "$n rank(s): checkpoint kept, lock released" ||
    fail "$n rank(s): after exit 4: partial $( [ -e $out.partial ] && echo kept || echo lost), lock $( [ -e $out.lock ] && echo left || echo gone)"
done
"$LYAPDIAG" --help | grep -q '4 stopped by a signal in a restart' && pass "--help documents exit status 4" ||
  fail "--help lacks exit status 4"
finish

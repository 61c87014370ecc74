#!/bin/sh
# A task longer than the job's time slot finishes across requeues (issue
# 11): the checkpoint keeps the finished blocks of replicas of unfinished
# tasks, so each stop/--resume cycle that finishes one block makes
# progress (exit 3, never 4), and the last one writes a file bit-identical
# to an uninterrupted run. tests/decks/one_long_task.ini is one task of 10
# blocks; every cycle is stopped by SIGUSR1 as soon as it has checkpointed
# one more block, alternating 1 and 2 ranks; at most 25 cycles, each
# bounded: never a hang.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/one_long_task.ini
mpi 2 "$LYAPDIAG" run "$deck" --quiet --output reference.nc || { fail "reference run"; finish; }

# cycle N: one run (N ranks) with --resume, stopped by SIGUSR1 once its
# checkpoint has changed after start-up (one more block kept); sets $status.
cycle() {
  rm -f cycle.err # else the wait below may read the last cycle's lines before the shell truncates it
  "$MPIEXEC" --oversubscribe -np "$1" "$LYAPDIAG" run "$deck" --output long.nc --resume 2>cycle.err &
  pid=$!
  i=0
  while ! grep -q '^lyapdiag 0' cycle.err 2>/dev/null && kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do
    sleep 0.05; i=$((i + 1)); done
  first=$(stat -c %y long.nc.partial 2>/dev/null)
  i=0
  while [ "$(stat -c %y long.nc.partial 2>/dev/null)" = "$first" ] && kill -0 $pid 2>/dev/null && [ $i -lt 1200 ]; do
    sleep 0.05; i=$((i + 1)); done
  kill -USR1 $pid 2>/dev/null
  i=0
  while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fail "cycle ignored SIGUSR1 for 60 s"; fi
  wait $pid; status=$?
}

cycles=0 statuses="" inside=0
while [ $cycles -lt 25 ]; do
  cycles=$((cycles + 1))
  cycle $((cycles % 2 + 1))
  statuses="$statuses $status"
  [ "$status" -eq 3 ] || break
  # An interruption inside the task: the checkpoint holds blocks, no task.
  if ncdump -h long.nc.partial 2>/dev/null | grep -q 'double block_state(block_value)' &&
     grep -q 'stopped by a signal: 0/1 task kept in long.nc.partial, with [0-9]* finished blocks* of 1 unfinished task' cycle.err; then
    inside=$((inside + 1))
  fi
done
[ "$inside" -ge 1 ] && pass "$inside stops inside the task kept its finished blocks in long.nc.partial" ||
  { fail "no stop kept blocks of the unfinished task (exit statuses:$statuses)"; cat cycle.err; }
[ "$status" -eq 0 ] && [ -e long.nc ] && [ ! -e long.nc.partial ] &&
  pass "the task finished after $cycles stop/--resume cycles (exit statuses:$statuses)" ||
  { fail "not finished after $cycles cycles (exit statuses:$statuses; 4 = no progress)"; cat cycle.err; }
"$top_builddir/tests/nc_compare" reference.nc long.nc >compare.txt && pass "the resumed file is bit-identical to the uninterrupted run" ||
  { fail "resumed file differs"; grep FAIL compare.txt; }
finish

#!/bin/sh
# Checkpoint and resume (lose no finished work, explain every failure):
#   - SIGUSR1 (SLURM --signal) stops a 2-rank run with exit status 3 and a
#     checkpoint; --resume computes only the missing tasks, and the result
#     is bit-identical to an uninterrupted run;
#   - resuming with a different deck is refused, naming the differing key;
#   - SIGKILL of the whole run leaves a checkpoint that --resume completes;
#   - kill -9 of one worker ends the run (mpirun names the lost rank) and
#     the checkpoint keeps the finished tasks;
#   - a damaged checkpoint is rejected with a clear message.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/resume.ini
run() { "$LYAPDIAG" run "$deck" --quiet "$@"; }
# Background runs are started without a shell function, so that $! is the
# process itself (mpirun or lyapdiag) and signals reach it.
mpirun2() { echo "$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" run "$deck" --quiet; }

# done_tasks FILE: finished tasks in a checkpoint (0 if unreadable).
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }

# wait_for_tasks FILE N: until FILE holds N finished tasks (60 s at most).
wait_for_tasks() {
  i=0
  while [ "$(done_tasks "$1")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}

mpi 2 "$LYAPDIAG" run "$deck" --quiet --output reference.nc || { fail "reference run"; finish; }

# 1. SIGUSR1 -> exit 3, checkpoint, resume identical.
$(mpirun2) --output usr1.nc 2>usr1.err &
pid=$!
wait_for_tasks usr1.nc.partial 3
stop_and_wait $pid
kept=$(done_tasks usr1.nc.partial)
[ "$status" -eq 3 ] && [ ! -e usr1.nc ] && [ "$kept" -ge 3 ] && grep -q 'stopped by a signal.*--resume' usr1.err &&
  pass "SIGUSR1: exit 3, $kept tasks kept in usr1.nc.partial" || { fail "SIGUSR1: exit $status, kept $kept"; cat usr1.err; }

cp usr1.nc.partial mismatch.nc.partial
sed 's/replicas  = 120/replicas  = 121/' "$deck" >mismatch.ini
expect_error "resume with another deck" 1 "mismatch.nc.partial: \[sampling\] replicas differs from the deck that started" \
  "$LYAPDIAG" run mismatch.ini --output mismatch.nc --resume

mpi 2 "$LYAPDIAG" run "$deck" --output usr1.nc --resume 2>resume.err >/dev/null
grep -q "resuming from usr1.nc.partial: $kept/" resume.err && pass "resume skips the $kept finished tasks" ||
  { fail "resume did not report $kept finished tasks"; cat resume.err; }
"$top_builddir/tests/nc_compare" reference.nc usr1.nc >compare.txt && [ ! -e usr1.nc.partial ] &&
  pass "stopped + resumed run is bit-identical to the uninterrupted one" || { fail "resume differs"; grep FAIL compare.txt; }

# 2. SIGKILL of the whole run: the last checkpoint is whole and resumable.
"$LYAPDIAG" run "$deck" --quiet --output kill.nc &
pid=$!
wait_for_tasks kill.nc.partial 2
kill -KILL $pid; wait $pid; status=$?
kept=$(done_tasks kill.nc.partial)
[ "$status" -eq 137 ] && [ ! -e kill.nc ] && [ "$kept" -ge 2 ] && pass "SIGKILL: exit 137, checkpoint holds $kept tasks" ||
  fail "SIGKILL: exit $status, $kept tasks in the checkpoint"
run --output kill.nc --resume && "$top_builddir/tests/nc_compare" reference.nc kill.nc >/dev/null &&
  pass "SIGKILL: checkpoint resumed to the identical result" || fail "SIGKILL resume"

# 3. kill -9 of one worker: the run ends (not hangs), naming the lost rank.
$(mpirun2) --output worker.nc 2>worker.err &
pid=$!
wait_for_tasks worker.nc.partial 2
victim=$(pgrep -f "lyapdiag run .*worker.nc" | sort -n | tail -1)
kill -KILL "$victim"
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fail "run hung after a worker died"; fi
wait $pid; status=$?
kept=$(done_tasks worker.nc.partial)
[ "$status" -ne 0 ] && grep -Eq 'rank [0-9]+ .*(signal 9|Killed)' worker.err && [ "$kept" -ge 2 ] &&
  pass "lost worker: exit $status, rank named, $kept tasks kept" || { fail "lost worker: exit $status, kept $kept"; cat worker.err; }
mpi 2 "$LYAPDIAG" run "$deck" --quiet --output worker.nc --resume && "$top_builddir/tests/nc_compare" reference.nc worker.nc >/dev/null &&
  pass "lost worker: resume completes to the identical result" || fail "lost worker resume"

# 4. A damaged checkpoint is refused, not trusted.
echo "not a netcdf file" >damaged.nc.partial
expect_error "damaged checkpoint" 1 "damaged.nc.partial: cannot read it to resume .*kept for inspection: move it aside \\(mv damaged.nc.partial damaged.nc.partial.damaged\\)" \
  "$LYAPDIAG" run "$deck" --output damaged.nc --resume
finish

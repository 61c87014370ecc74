#!/bin/sh
# A full disk costs no finished work and never crashes (issue 10), on small
# tmpfs file systems (root only; SKIP otherwise):
#   a. a file system too small for the output and its checkpoints is
#      refused before any work, with the bytes needed and free, and nothing
#      is left on it;
#   b. a file system that fills up during the run: the failed checkpoint
#      is reported in plain words (the file system, the bytes needed), the
#      run exits 1 (no segfault), the previous FILE.partial stays whole, and
#      once space is freed --resume completes it to the same file as an
#      uninterrupted run.
. "${top_srcdir:-.}/tests/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: mounting a small tmpfs needs root"; exit 77; fi
cd "$WORK" || exit 99
mkdir -p tiny small
trap 'umount "$WORK/tiny" 2>/dev/null; umount "$WORK/small" 2>/dev/null' EXIT
mount -t tmpfs -o size=24k tmpfs tiny && mount -t tmpfs -o size=4m tmpfs small ||
  { echo "SKIP: cannot mount tmpfs here"; exit 77; }
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }

# a. Refused before any work.
expect_error "24 KB file system" 1 \
  "error: tiny/small.nc: not enough space: file system $WORK/tiny has [0-9]+ bytes free, and the output and its checkpoints need about [0-9]+ \(3 copies at once of about [0-9]+ bytes" \
  "$LYAPDIAG" run "$top_srcdir/tests/decks/small.ini" --output tiny/small.nc
[ -z "$(ls tiny)" ] && pass "nothing left on the 24 KB file system" || fail "left on tiny: $(ls tiny)"

# b. Full during the run: a deck of many short tasks, checkpointed after each.
sed -e 's/replicas  = 120/replicas  = 40/' -e 's/file      = resume.nc/file = fill.nc/' \
  "$top_srcdir/tests/decks/resume.ini" >fill.ini
"$LYAPDIAG" run fill.ini --quiet --output reference.nc || { fail "reference run"; finish; }
"$LYAPDIAG" run fill.ini --quiet --output small/fill.nc 2>fill.err &
pid=$!
i=0; while [ "$(done_tasks small/fill.nc.partial)" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
free=$(df -k --output=avail small | tail -1)
dd if=/dev/zero of=small/filler bs=1k count=$((free - 8)) 2>/dev/null   # leave 8 KB
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && { kill -KILL $pid; fail "run did not stop on a full disk within 60 s"; }
wait $pid; status=$?
line=$(grep '^lyapdiag' fill.err)
kept=$(done_tasks small/fill.nc.partial)
if [ "$status" -eq 1 ] && [ "$(grep -c '^lyapdiag' fill.err)" -eq 1 ] &&
   echo "$line" | grep -Eq "file system $WORK/small is full: writing small/fill.nc(.partial)? needs [0-9]+ bytes but only [0-9]+ are free; the last checkpoint small/fill.nc.partial is intact with [0-9]+ of 24 tasks \([0-9]+ finished since then are lost\): free some space on $WORK/small, then run again with --resume"; then
  pass "disk full mid-run: exit 1, '$line'"
else
  fail "disk full mid-run: exit $status (want 1, no crash), stderr:"; cat fill.err
fi
[ "$kept" -ge 2 ] && [ ! -e small/fill.nc.partial.tmp ] && [ ! -e small/fill.nc.lock ] &&
  pass "the previous checkpoint is whole ($kept tasks), no .tmp or lock left" ||
  fail "after the full disk: $kept tasks readable in the checkpoint; files: $(ls small)"
rm -f small/filler
"$LYAPDIAG" run fill.ini --quiet --output small/fill.nc --resume 2>resume.err &&
  "$top_builddir/tests/nc_compare" reference.nc small/fill.nc >compare.txt &&
  pass "space freed: --resume from the kept checkpoint gives the uninterrupted result bit for bit" ||
  { fail "resume after freeing space"; cat resume.err; grep FAIL compare.txt; }
finish

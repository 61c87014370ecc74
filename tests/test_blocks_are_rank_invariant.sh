#!/bin/sh
# Work units (DESIGN.md, MPI): a task runs as blocks of replicas that any
# rank may compute, merged in block order on rank 0, so decks with fewer
# tasks than ranks run on any number of ranks and give bit-identical data
# on 1, 2, 3 and 7 ranks (7 on 2 cores: the schedule differs every time):
#   - tests/decks/blocks.ini: 2 tasks of 3 blocks each, with the matrix
#     path's autocorrelation sums, the spectrum and two simulated variances;
#   - tests/decks/adaptive.ini: target_stderr, blocks of one round, the
#     stop taken on the merged prefix only (replicas_used below the cap, a
#     whole number of rounds, the stderr at most the target).
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
for name in blocks adaptive; do
  deck=$top_srcdir/tests/decks/$name.ini
  for n in 1 2 3 7; do
    mpi $n "$LYAPDIAG" run "$deck" --quiet --output $name$n.nc 2>$name$n.err ||
      { fail "$name: $n rank(s): run failed"; cat $name$n.err; }
  done
  for n in 2 3 7; do
    "$top_builddir/tests/nc_compare" ${name}1.nc $name$n.nc >compare$n.txt 2>&1 &&
      pass "$name: 1 and $n ranks give bit-identical files" ||
      { fail "$name: 1 and $n ranks differ"; grep FAIL compare$n.txt; }
  done
done
# The adaptive stop: replicas_used per task, and lambda's stderr.
used=$(ncdump -v replicas_used adaptive7.nc | sed -n '/^ replicas_used =/,/;/p' | tr -cd '0-9, ' | tr ',' ' ' | tr -s ' ')
err=$(ncdump -p 9,17 -v lambda_stderr adaptive7.nc | sed -n '/^ lambda_stderr =/,/;/p' | sed 's/.*=//' | tr -d ';' | tr ',\n' '  ' | tr -s ' ')
ok=1
for u in $used; do [ "$u" -ge 64 ] && [ "$u" -lt 4000 ] && [ $((u % 16)) -eq 0 ] || ok=0; done
for e in $err; do near "$e" 0 0.003 || ok=0; done
[ $ok -eq 1 ] && [ -n "$used" ] && pass "adaptive: stopped after $used replicas (whole rounds, below the cap of 4000), stderr $err <= 0.003" ||
  fail "adaptive: replicas_used '$used', lambda_stderr '$err' (want whole rounds < 4000, stderr <= 0.003)"
finish

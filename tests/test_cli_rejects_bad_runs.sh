#!/bin/sh
# Bad runs stop with one clear line, a non-zero exit and no output file:
# missing deck, bad deck, unwritable output, bad
# command lines. `lyapdiag theory` prints THEORY.md's reference values.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
L=$LYAPDIAG

cat >good.ini <<'INI'
[grid]
families = gaussian
widths = 2
slopes = 0.5, 1.0
variances = 1, 2
depths = 20
[sampling]
replicas = 4
batch = 2
[output]
file = good.nc
INI
sed 's/slopes = 0.5, 1.0/slopes = 0.5, 2.0/' good.ini >badslope.ini

expect_error "missing deck" 1 "error: nosuch.ini: cannot open deck: No such file" "$L" run nosuch.ini
expect_error "slope out of range" 1 "error: badslope.ini:4: \[grid\] slopes: 2 is out of range" "$L" run badslope.ini
[ ! -e good.nc ] && [ ! -e good.nc.partial ] && pass "no output after a deck error" || fail "output left after a deck error"
expect_error "output in a missing directory" 1 "error: /nonexistent/dir/x.nc: directory /nonexistent/dir does not exist.*--output" \
  "$L" run good.ini --output /nonexistent/dir/x.nc
mkdir -p outdir
expect_error "output is a directory" 1 "error: outdir: is a directory; give a file name.*--output" \
  "$L" run good.ini --output outdir
expect_error "output is a directory with a slash" 1 "error: outdir/: is a directory; give a file name.*\(e\.g\. outdir/phase\.nc\)$" \
  "$L" run good.ini --output outdir/
printf '[train]\nmethods = he\nwidths = 2\ndepths = 2\nlearning_rates = 1e-3\nseeds = 1\nsteps = 2\nrecord_every = 1\n' >small_train.ini
expect_error "train output is a directory" 1 "error: outdir: is a directory; give a file name.*\(e\.g\. outdir/train\.nc\)$" \
  "$L" train small_train.ini --output outdir
expect_error "train output is a directory with a slash" 1 "error: outdir/: is a directory; give a file name.*\(e\.g\. outdir/train\.nc\)$" \
  "$L" train small_train.ini --output outdir/
[ -z "$(ls outdir)" ] && [ ! -e outdir.partial ] && pass "nothing written for a directory output" || fail "files left for a directory output"
# One task is "1 task", in every line that counts tasks (header, progress,
# the final line, info).
"$L" train small_train.ini --output one_task.nc >one_task.out 2>one_task.err &&
  "$L" info one_task.nc >>one_task.out &&
  grep -q '= 1 task on 1 rank' one_task.err && grep -q 'train: 1/1 task (' one_task.err &&
  grep -q 'wrote one_task.nc: 1 task (' one_task.out && grep -q 'complete: 1/1 task done' one_task.out &&
  grep -q '= 1 task$' one_task.out && ! grep -q '[^0-9]1 tasks' one_task.err one_task.out &&
  pass "one task is '1 task' in train's header, progress and last line, and in info" ||
  { fail "plural of one task"; cat one_task.err one_task.out; }
# More ranks than tasks is no error: tasks split into blocks of replicas.
mpi 3 "$L" run good.ini --quiet --output three.nc && [ -e three.nc ] && [ ! -e three.nc.partial ] &&
  pass "3 ranks for 2 tasks: the run completes" || fail "3 ranks for 2 tasks"
rm -f three.nc
# ~64 TB of results (1e4 tasks x 1e5 variances x 1000 depths): more than any node has.
sed -e 's/widths = 2/widths = 2:200:100/' -e 's/slopes = 0.5, 1.0/slopes = 0:1:100/' -e 's/variances = 1, 2/variances = 1:2:100000/' \
    -e 's/depths = 20/depths = 10:10000:1000/' good.ini >huge.ini
expect_error "more memory than the machine has" 1 "huge.ini: needs about [0-9.]+ GB on this node .*reduce" \
  "$L" run huge.ini
[ ! -e good.nc ] && [ ! -e good.nc.partial ] && pass "no output after the memory refusal" || fail "output left after memory refusal"
# train: the largest task (width 4096, depth 20000: 3.4e11 weights, with
# gradient and Adam's state) is refused before any work or file, on every
# rank, and a second try is not blocked by a left-over checkpoint.
cat >hugetrain.ini <<'INI'
[train]
coefficients = 0, 1
train_points = 16
test_points = 16
methods = he, lyapunov-sampling
widths = 2, 4096
depths = 3, 20000
slopes = 0.01
learning_rates = 1e-3
seeds = 1
steps = 10
record_every = 5
[output]
file = hugetrain.nc
INI
for np in 1 2; do
  expect_error "train: more memory than the machine has, $np rank(s)" 1 \
    "error: hugetrain.ini: needs about [0-9.]+ GB on this node \($np ranks? x [0-9.]+ GB for width 4096 and depth 20000, plus [0-9.]+ GB of results on rank 0\) but it has [0-9.]+ GB; reduce \[train\] widths or depths, or use fewer ranks per node" \
    "$MPIEXEC" --oversubscribe -np $np "$L" train hugetrain.ini
  ! grep -q -e MPI_ABORT -e ORTE_ERROR_LOG "$WORK/err" || fail "train memory refusal, $np rank(s): MPI noise"
done
[ -z "$(ls hugetrain.nc* 2>/dev/null)" ] && pass "no file after the train memory refusal" ||
  fail "files left after the train memory refusal: $(ls hugetrain.nc*)"
expect_error "no command" 2 "missing command" "$L"
expect_error "unknown command" 2 "unknown command 'frobnicate'" "$L" frobnicate
expect_error "run without deck" 2 "missing DECK" "$L" run
expect_error "unknown run option" 2 "unknown option '--fast'; the options are --output" "$L" run good.ini --fast
expect_error "theory slope" 2 "slope must lie in \[0, 1\]" "$L" theory --width 4 --slope 1.5
expect_error "theory width" 2 "width must be a whole number" "$L" theory --width 0 --slope 0.1
expect_error "theory family" 2 "unknown family 'normal'" "$L" theory --width 4 --slope 0.1 --family normal

# A good run succeeds on 2 ranks and leaves exactly the final file.
if mpi 2 "$L" run good.ini --quiet && [ -s good.nc ] && [ ! -e good.nc.partial ]; then
  pass "good run writes good.nc and no .partial"
else
  fail "good run"
fi

# theory prints THEORY.md's reference points (d=4 and 16, a=0.1, He), to
# half a unit of the digits THEORY.md gives.
for point in "4 -0.41519 4.5430" "16 -0.08467 2.3456"; do
  set -- $point
  "$L" theory --width "$1" --slope 0.1 --family gaussian >theory.txt
  lambda=$(awk '$1 == "gaussian" && $2 == "He" { print $4 }' theory.txt)
  crit=$(awk '$1 == "gaussian" && $2 == "He" { print $6 }' theory.txt)
  if near "$lambda" "$2" 5e-6 && near "$crit" "$3" 5e-5; then
    pass "theory d=$1 a=0.1: lambda_He $lambda (THEORY.md $2), s2_crit $crit ($3)"
  else
    fail "theory d=$1: lambda_He '$lambda' vs $2, s2_crit '$crit' vs $3"; cat theory.txt
  fi
done
# theory --depth: orthogonal weights at slope 1 are an exact isometry
# times eta, so |x_L|/|x_0| = eta^L with certainty: at eta^2 = 2, L = 30
# every quantile is 2^15 = 32768 and the network explodes past 1/eps = 1e3.
"$L" theory --width 8 --slope 1 --family orthogonal --variance 2 --depth 30 >depth.txt
row=$(awk '$1 == "orthogonal" && $2 == "given" { print $4, $5, $6, $7, $8 }' depth.txt | tail -1)
if [ "$row" = "0 1 3.277e+04 3.277e+04 3.277e+04" ]; then
  pass "theory --depth: orthogonal a=1 eta^2=2 L=30: p_vanish 0, p_explode 1, quantiles 2^15 ($row)"
else
  fail "theory --depth: orthogonal a=1 row '$row'"; cat depth.txt
fi
expect_error "theory depth" 2 "depth must be a whole number" "$L" theory --width 4 --slope 0.1 --depth 0
expect_error "theory eps" 2 "eps must lie strictly between 0 and 1" "$L" theory --width 4 --slope 0.1 --depth 9 --eps 2
"$L" --help | grep -q 'lyapdiag run DECK' && pass "--help" || fail "--help"
"$L" --version | grep -Eq '^lyapdiag [0-9]' && pass "--version" || fail "--version"
"$L" --help-deck >help-deck.txt && grep -q 'verify_homogeneity' help-deck.txt && pass "--help-deck lists keys" ||
  fail "--help-deck"
# --help-deck as "section|key|default" lines, both decks in order (defaults
# longer than the README's default column as "-"); a key line without a
# meaning is refused.
awk '/^\[[a-z]+\]$/ { s = $0 }
     /^  [a-z_0-9]+/ { k = $1; if (NF < 2) print "NO MEANING|" k }
     /^ +default: / { d = $0; sub(/^ +default: /, "", d); print s "|" k "|" (length(d) <= 21 ? d : "-") }' \
  help-deck.txt >help-keys.txt
# The README's deck reference (both tables) in the same form.
awk '/^The complete reference/ { on = 1 } /^Weight families/ { on = 0 }
     on && /^    \[[a-z]+\]$/ { s = $1 }
     on && /^    [a-z_0-9]+ / && $1 != "key" { d = substr($0, 25, 22); gsub(/^ +| +$/, "", d); print s "|" $1 "|" d }' \
  "$top_srcdir/README" >readme-keys.txt
if [ "$(wc -l <help-keys.txt)" -ge 30 ] && ! grep -q '^NO MEANING' help-keys.txt &&
   awk -F'|' 'NR == FNR { h[FNR] = $0; n = FNR; next }
     { split(h[FNR], a, "|"); if (a[1] != $1 || a[2] != $2 || (a[3] != "-" && a[3] != $3)) {
         print "  README: " $0 ", --help-deck: " h[FNR]; bad = 1 } }
     END { if (FNR != n) { print "  README lists " FNR " keys, --help-deck " n; bad = 1 }; exit bad }' \
     help-keys.txt readme-keys.txt >readme-keys.cmp; then
  pass "README's deck reference is --help-deck's: $(wc -l <help-keys.txt) keys of both decks, sections and defaults"
else
  fail "README's deck reference and --help-deck differ"; cat readme-keys.cmp; grep '^NO MEANING' help-keys.txt
fi
# Every key the [train] parser accepts (a lyap_traindeck_* parser in
# traindeck.h) is accepted by `lyapdiag train` (a deck whose next line is
# refused as unknown) and listed, with its default, under [train] by both
# `lyapdiag --help-deck` and `lyapdiag train --help-deck`: a key added
# without help fails here.
"$L" train --help-deck >train-help-deck.txt || fail "train --help-deck"
keys=$(sed -n 's/^int lyap_traindeck_\([a-z_]*\)(lyap_deck \*deck, const char \*value.*/\1/p' \
  "$top_srcdir/include/lyapdiag/traindeck.h")
nkeys=0 unhelped=""
for key in $keys; do
  nkeys=$((nkeys + 1))
  default=$(awk -v k="$key" '/^\[/ { s = $0 } s == "[train]" && $1 == k { getline; sub(/^ +default: /, ""); print; exit }' \
    train-help-deck.txt)
  printf '[train]\n%s = %s\nnot_a_key = 1\n' "$key" "$default" >key.ini
  "$L" train key.ini >key.out 2>&1
  grep -q "key.ini:3: \[train\] not_a_key: unknown key" key.out || unhelped="$unhelped $key(not accepted: $(cat key.out))"
  awk -F'|' -v k="$key" '$1 == "[train]" && $2 == k { f = 1 } END { exit !f }' help-keys.txt ||
    unhelped="$unhelped $key(not in lyapdiag --help-deck)"
  [ -n "$default" ] || unhelped="$unhelped $key(not in lyapdiag train --help-deck)"
done
[ "$nkeys" -ge 19 ] && [ -z "$unhelped" ] &&
  pass "all $nkeys [train] parser keys are accepted and listed with their defaults by both --help-deck" ||
  fail "[train] keys ($nkeys):$unhelped"
finish

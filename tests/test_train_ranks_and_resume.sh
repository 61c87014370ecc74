#!/bin/sh
# lyapdiag train (issue 13) end to end on tests/decks/train_small.ini:
#   - 1 and 2 ranks (and 3 on 2 cores) write bit-identical data (every
#     variable and attribute but history), with the contract's names;
#   - SIGUSR1 to a 2-rank run: exit 3, FILE.partial kept, and --resume
#     finishes it to the same file; an existing FILE.partial is refused
#     without --resume; a resume with another deck is refused naming the
#     key; run and train refuse each other's decks;
#   - a stop inside long tasks abandons them (exit 3 within seconds), and a
#     --resume run stopped before it finished a task exits 4.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
deck=$top_srcdir/tests/decks/train_small.ini

# The file as text, every double at 17 digits, without the history line.
dump() { ncdump -p 9,17 "$1" | grep -v -e ':history' -e '^netcdf'; }
same() { dump "$1" >"$1.txt" && dump "$2" >"$2.txt" && cmp -s "$1.txt" "$2.txt"; }
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }

mpi 1 "$LYAPDIAG" train "$deck" --quiet --output np1.nc || { fail "np 1 train"; finish; }
mpi 2 "$LYAPDIAG" train "$deck" --quiet --output np2.nc || { fail "np 2 train"; finish; }
mpi 3 "$LYAPDIAG" train "$deck" --quiet --output np3.nc || { fail "np 3 train"; finish; }
same np1.nc np2.nc && pass "np 1 and np 2 files are bit-identical" || { fail "np 1 and np 2 differ"; diff np1.nc.txt np2.nc.txt | head; }
same np1.nc np3.nc && pass "np 1 and np 3 files are bit-identical" || fail "np 1 and np 3 differ"
# jobs/phase.sbatch sees the [train] section and runs `lyapdiag train` (here
# outside SLURM: mpirun on 2 ranks), with the file of a run on the OpenBLAS
# core the script chooses (jobs/openblas-core.sh: QR rounds differently on
# another core, and the orthogonal methods' layers come from QR).
PATH=$top_builddir:$PATH bash "$top_srcdir/jobs/phase.sbatch" "$deck" job.nc 2>job.err &&
  ( . "$top_srcdir/jobs/openblas-core.sh" >/dev/null; mpi 2 "$LYAPDIAG" train "$deck" --quiet --output core.nc ) &&
  grep -q 'lyapdiag train .*--resume' job.err && same core.nc job.nc &&
  pass "jobs/phase.sbatch runs a training deck with lyapdiag train: the same file" ||
  { fail "jobs/phase.sbatch on a training deck"; cat job.err; }

# The contract's names and shapes.
header=$(ncdump -h np1.nc)
for want in 'method = 7' 'width = 2' 'depth = 1' 'slope = 1' 'optimizer = 2' 'learning_rate = 2' 'seed = 2' \
  'record = 5' 'string method(method)' 'string optimizer(optimizer)' 'int step(record)' \
  'double train_loss(method, width, depth, slope, optimizer, learning_rate, seed, record)' \
  'double test_loss(method, width, depth, slope, optimizer, learning_rate, seed, record)' \
  'double final_test_loss(method, width, depth, slope, optimizer, learning_rate, seed)' \
  'byte diverged(method, width, depth, slope, optimizer, learning_rate, seed)' \
  'double initial_log_gain(method, width, depth, slope, optimizer, learning_rate, seed)' \
  'int steps_done(method, width, depth, slope, optimizer, learning_rate, seed)' ':deck = "; A small training deck'; do
  printf '%s\n' "$header" | grep -qF -- "$want" || fail "header lacks '$want'"
done
pass "header has the contract's dimensions and variables, and the deck"
# CF-1.8: every variable has a long_name, every numeric one units, and
# the int8 flags flag_values and flag_meanings (trainout.c's one table).
missing=$(printf '%s\n' "$header" | awk '
  /^\t[a-z]+ [a-z_0-9]+\(.*\) ;$/ { split($2, p, "("); v = p[1]; vars[v] = $1 }
  /^\t\t[a-z_0-9]+:[a-z_A-Z]+ = / { split($1, p, ":"); att[p[1] ":" p[2]] = 1 }
  END { for (v in vars) { if (!att[v ":long_name"]) print v ":long_name"
                          if (vars[v] != "string" && !att[v ":units"]) print v ":units"
                          if (vars[v] == "byte" && !att[v ":flag_meanings"]) print v ":flag_meanings" } }' |
  grep -v '^checksum' | sort | tr '\n' ' ')
nvars=$(printf '%s\n' "$header" | grep -Ec '^	[a-z]+ [a-z_0-9]+\(.*\) ;$')
[ -z "$missing" ] && [ "$nvars" -ge 15 ] && pass "all $nvars variables have long_name, numeric ones units, flags flag_meanings" ||
  fail "variables without CF attributes: $missing"
printf '%s\n' "$header" | grep -q 'diverged:flag_meanings = "ran_every_step diverged"' &&
  printf '%s\n' "$header" | grep -q 'done:flag_meanings = "missing computed"' &&
  pass "diverged and done carry flag_values 0, 1 and their meanings" || fail "flag attributes of diverged, done"
ncdump -v step np1.nc | grep -q 'step = 0, 50, 100, 150, 200' && pass "step = 0, 50, ..., 200" || fail "step coordinate"
ndiv=$(ncdump -v diverged np1.nc | sed -n '/^ diverged =/,/;/p' | tr -cd '1' | wc -c)
[ "$ndiv" -gt 0 ] && pass "$ndiv tasks flagged diverged (sgd at 0.5), the run went on" || fail "no divergence flagged"
ncdump -v done np1.nc | sed -n '/^ done =/,/;/p' | grep -q '0' && fail "done mask has zeros" || pass "every task done"

# SIGUSR1: exit 3, checkpoint kept; --resume finishes it to the same file.
"$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" train "$deck" --quiet --output usr1.nc 2>usr1.err &
pid=$!
i=0; while [ "$(done_tasks usr1.nc.partial)" -lt 4 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
stop_and_wait $pid
kept=$(done_tasks usr1.nc.partial)
if [ "$status" -eq 3 ] && [ ! -e usr1.nc ] && [ "$kept" -ge 4 ] && [ "$kept" -lt 112 ] &&
   grep -q 'stopped by a signal.*train .*--resume' usr1.err; then
  pass "SIGUSR1: exit 3, $kept/112 tasks kept in usr1.nc.partial"
else
  fail "SIGUSR1: exit $status, kept $kept"; cat usr1.err
fi
expect_error "rerun without --resume over a checkpoint" 1 "usr1.nc.partial holds $kept of 112 tasks finished by an earlier run; continue it with --resume, or discard it with --overwrite" \
  "$LYAPDIAG" train "$deck" --output usr1.nc
sed 's/^seeds          = 2/seeds          = 3/' "$deck" >mismatch.ini
cp usr1.nc.partial mismatch.nc.partial
expect_error "resume with another deck" 1 "mismatch.nc.partial: \[train\] seeds differs from the deck that started this run" \
  "$LYAPDIAG" train mismatch.ini --output mismatch.nc --resume
cp np1.nc np1.before
expect_error "another deck over a finished training file" 1 \
  "np1.nc holds the finished result of another deck \(its \[train\] seeds differs\): write this deck's elsewhere with --output, or replace it with --overwrite" \
  "$LYAPDIAG" train mismatch.ini --output np1.nc
cmp -s np1.nc np1.before && pass "np1.nc untouched by the refused run" || fail "the refused run touched np1.nc"
mpi 2 "$LYAPDIAG" train "$deck" --output usr1.nc --resume 2>resume.err >/dev/null
grep -q "resuming from usr1.nc.partial: $kept/112 tasks already done" resume.err && pass "resume skips the $kept finished tasks" ||
  { fail "resume message"; cat resume.err; }
same np1.nc usr1.nc && [ ! -e usr1.nc.partial ] && pass "stopped and resumed file is bit-identical to the uninterrupted one" ||
  fail "resumed file differs"

# Long tasks (200000 steps, ~10-30 s each): a stop abandons them within
# 64 steps, exit 3 with nothing finished; a --resume run stopped before it
# finished a task exits 4 (requeueing would loop) and says why.
sed -e 's/^steps          = 200/steps          = 200000/' "$deck" >long.ini
wait_line() { i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; }
"$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" train long.ini --output long.nc 2>long1.err &
pid=$!
wait_line long1.err 'tasks on 2 ranks'
sleep 1
start=$(date +%s.%N); stop_and_wait $pid; took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$status" -eq 3 ] && [ "$(done_tasks long.nc.partial)" -eq 0 ] && near "$took" 0 5 &&
  pass "a stop inside long tasks: exit 3 after $took s, no task kept" || { fail "long stop: exit $status after $took s"; cat long1.err; }
"$MPIEXEC" --oversubscribe -np 2 "$LYAPDIAG" train long.ini --output long.nc --resume 2>long2.err &
pid=$!
wait_line long2.err 'resuming from long.nc.partial: 0/112'
sleep 1
stop_and_wait $pid
[ "$status" -eq 4 ] && grep -q 'no progress: this restart finished no task.*exit status 4' long2.err &&
  pass "a --resume run stopped before finishing a task: exit 4, 'no progress'" || { fail "exit 4: got $status"; cat long2.err; }

# postproc/plot_training.py reads the file: its table (one line per method
# and configuration) and its plot.
if "$PYTHON3" -c 'import xarray, netCDF4, matplotlib' 2>/dev/null; then
  "$PYTHON3" "$top_srcdir/postproc/plot_training.py" np1.nc --table >table.txt 2>&1 &&
    [ "$(grep -c '^## width' table.txt)" -eq 8 ] && [ "$(grep -Ec '^(he|lsuv|looks-linear) ' table.txt)" -eq 24 ] &&
    pass "plot_training.py --table: 8 configurations x 7 methods" || { fail "plot_training.py --table"; head table.txt; }
  "$PYTHON3" "$top_srcdir/postproc/plot_training.py" np1.nc -o np1.png >plot.out 2>&1 && [ -s np1.png ] &&
    pass "plot_training.py draws np1.png" || { fail "plot_training.py plot"; cat plot.out; }
  # On a checkpoint it says so and counts finished seeds only (the seeds
  # after each method's diverged count add up to the tasks kept).
  "$PYTHON3" "$top_srcdir/postproc/plot_training.py" mismatch.nc.partial --table >partial.txt 2>partial.err
  counted=$(awk '$NF ~ /^[0-9]+\/[0-9]+$/ { split($NF, f, "/"); n += f[2] } END { print n + 0 }' partial.txt)
  grep -q "is unfinished: $kept of 112 tasks done" partial.err && [ "$counted" -eq "$kept" ] &&
    ! grep -q Warning partial.err &&
    pass "plot_training.py on a checkpoint: 'unfinished: $kept of 112', statistics over the $counted finished seeds" ||
    { fail "plot_training.py on a checkpoint: counted $counted of $kept"; cat partial.err; head partial.txt; }
else
  echo "SKIP: plot_training.py: $PYTHON3 lacks xarray, netCDF4 or matplotlib"
fi

# Each command refuses the other's deck, naming the right one.
expect_error "run refuses a training deck" 1 "\[train\]: a training deck; run it with .lyapdiag train" \
  "$LYAPDIAG" run "$deck" --output x.nc
expect_error "train refuses a run deck" 1 "no \[train\] section: not a training deck" \
  "$LYAPDIAG" train "$top_srcdir/tests/decks/small.ini" --output y.nc
expect_error "train: bad option" 2 "train: unknown option '--reusme'; did you mean '--resume'" \
  "$LYAPDIAG" train "$deck" --reusme
finish

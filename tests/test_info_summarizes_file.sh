#!/bin/sh
# lyapdiag info FILE: a phase diagram summarized in three formats that agree
# with the file itself.
#   - tests/decks/small.ini on 2 ranks: the json and csv parse back (python
#     json, csv) to the file's own values read by xarray, bit for bit
#     (%.17g; null / nan / inf where the file has NaN or inf): deck, grid,
#     replicas, seed, tasks, the boundary per (family, width, slope);
#   - the table shows the same grid, the boundary and the deck verbatim;
#   - tests/decks/bias.ini adds the bias variances;
#   - a checkpoint (a run stopped by SIGUSR1) reports its done count, the
#     one ncdump counts; its unfinished tasks are null and "done": false;
#   - a file of lyapdiag train and its checkpoint: the grid, tasks done and
#     diverged, numpy's median and quartiles of final_test_loss per
#     configuration in json and csv, the deck in the table;
#   - bad inputs give one line and exit 1 (a file) or 2 (a command line).
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
L=$LYAPDIAG

mpi 2 "$L" run "$top_srcdir/tests/decks/small.ini" --quiet --output small.nc || { fail "small.ini run"; finish; }
for format in table csv json; do
  "$L" info small.nc --format $format >small.$format 2>small.$format.err && [ ! -s small.$format.err ] &&
    [ -s small.$format ] && pass "info --format $format: exit 0, $(wc -l <small.$format) lines" ||
    { fail "info --format $format"; cat small.$format.err; }
done
"$L" info small.nc >default.table && cmp -s default.table small.table &&
  pass "the table is the default format" || fail "info without --format differs from --format table"

# compare.py FILE JSON CSV TABLE: every value info prints is the file's.
cat >compare.py <<'PY'
import csv, json, math, sys
import xarray as xr
path, jsonfile, csvfile, tablefile = sys.argv[1:5]
ds = xr.open_dataset(path)
doc = json.load(open(jsonfile))
rows = list(csv.DictReader(open(csvfile)))
table = open(tablefile).read()
failures, compared = [], 0
def check(ok, what):
    if not ok:
        failures.append(what)
def same(got, want, what, null=True):
    """got (json: None for NaN/inf; csv: text) is want to the last bit."""
    global compared
    compared += 1
    want = float(want)
    if got is None:
        check(null and not math.isfinite(want), "%s: null, the file has %r" % (what, want))
    elif isinstance(got, str):
        check(float(got) == want or (math.isnan(float(got)) and math.isnan(want)),
              "%s: csv %s, the file %.17g" % (what, got, want))
    else:
        check(math.isfinite(want) and "%.17g" % got == "%.17g" % want, "%s: %r, the file %.17g" % (what, got, want))
keys = ["file", "deck_file", "deck", "families", "widths", "slopes", "variances", "depths", "replicas", "seed",
        "tasks", "tasks_done", "boundary"] + (["bias_variances"] if "bias_variance" in ds else [])
check(sorted(doc) == sorted(keys), "json keys %s, want %s" % (sorted(doc), sorted(keys)))
check(doc["file"] == path, "file %r" % doc["file"])
check(doc["deck_file"] == ds.attrs["deck_file"], "deck_file %r vs %r" % (doc["deck_file"], ds.attrs["deck_file"]))
check(doc["deck"] == ds.attrs["deck"], "deck text differs from the file's deck attribute")
check(doc["families"] == [str(f) for f in ds.family.values], "families %r" % doc["families"])
for key, axis in (("widths", "width"), ("slopes", "slope"), ("variances", "variance"), ("depths", "depth"),
                  ("bias_variances", "bias_variance")):
    if axis in ds:
        check(len(doc[key]) == ds[axis].size, "%s: %d values, the file %d" % (key, len(doc[key]), ds[axis].size))
        for i, (x, y) in enumerate(zip(doc[key], ds[axis].values)):
            same(x, y, "%s[%d]" % (key, i))
check(doc["replicas"] == int(ds.attrs["replicas"]), "replicas %r" % doc["replicas"])
check(str(doc["seed"]) == str(ds.attrs["seed"]), "seed %r vs %r" % (doc["seed"], ds.attrs["seed"]))
done = ds["done"].values
check(doc["tasks"] == done.size, "tasks %r, the file %d" % (doc["tasks"], done.size))
check(doc["tasks_done"] == int((done == 1).sum()), "tasks_done %r" % doc["tasks_done"])
check(len(doc["boundary"]) == done.size and len(rows) == done.size, "boundary rows %d json, %d csv, want %d"
      % (len(doc["boundary"]), len(rows), done.size))
names = ["variance_crit", "variance_crit_stderr", "variance_crit_theory"]
check(rows and list(rows[0]) == ["family", "width", "slope", "done"] + names, "csv header %r" % list(rows[0]))
t = 0
for f in ds.family.values:
    for d in ds.width.values:
        for a in ds.slope.values:
            task = ds.sel(family=f, width=d, slope=a)
            j, c = doc["boundary"][t], rows[t]
            where = "%s d=%d a=%g" % (f, d, a)
            check(sorted(j) == sorted(["family", "width", "slope", "done"] + names), "%s: keys %s" % (where, sorted(j)))
            check(j["family"] == c["family"] == str(f) and j["width"] == int(c["width"]) == int(d),
                  "%s: json %s %s, csv %s %s" % (where, j["family"], j["width"], c["family"], c["width"]))
            same(j["slope"], a, where + " slope")
            same(c["slope"], a, where + " csv slope")
            check(j["done"] == (int(task.done) == 1) and int(c["done"]) == int(task.done), where + " done")
            for k in names:
                same(j[k], task[k].values, "%s %s" % (where, k))
                same(c[k], task[k].values, "%s csv %s" % (where, k))
            t += 1
# The table: the completion line, the grid and the deck verbatim.
want = "%d/%d tasks done" % (doc["tasks_done"], doc["tasks"])
check(want in table.splitlines()[0], "table's first line lacks %r" % want)
for line in ds.attrs["deck"].splitlines():
    check(("  " + line).rstrip() in table.splitlines(), "table lacks the deck line %r" % line)
check(("  %-16s%s" % ("families", ", ".join(doc["families"]))) in table, "table lacks the families")
for f in failures[:20]:
    print("  " + f)
print("%d values compared, %d failures" % (compared, len(failures)))
sys.exit(1 if failures else 0)
PY

have_xarray=no
"$PYTHON3" -c 'import json, csv, xarray, netCDF4' 2>/dev/null && have_xarray=yes
compare() { # NAME FILE: FILE's json, csv and table against FILE
  if [ "$have_xarray" = no ]; then
    echo "SKIP: $1: $PYTHON3 lacks xarray/netCDF4 (apt-get install python3-xarray python3-netcdf4)"; return
  fi
  "$PYTHON3" compare.py "$2" "$1.json" "$1.csv" "$1.table" >"$1.cmp" 2>&1 &&
    pass "$1: json and csv parse back to the file's values bit for bit ($(tail -1 "$1.cmp"))" ||
    { fail "$1: info differs from the file"; cat "$1.cmp"; }
}
compare small small.nc
grep -q '^small.nc: phase diagram by lyapdiag .*, complete: 27/27 tasks done$' small.table &&
  grep -q '^grid: 3 families x 3 widths x 3 slopes = 27 tasks$' small.table &&
  grep -Eq '^gaussian +2 +0 +inf +0 +inf$' small.table &&
  pass "table: complete 27/27, the grid, ReLU's inf boundary" || { fail "table lines"; head -20 small.table; }
# The number a script wants, straight from the json.
crit=$("$PYTHON3" -c 'import json, sys; b = json.load(open("small.json"))["boundary"]
print([r for r in b if r["family"] == "orthogonal" and r["width"] == 8 and r["slope"] == 0.3][0]["variance_crit_theory"])')
file_crit=$(ncdump -v variance_crit_theory -p 17,17 small.nc | sed -n '/^ variance_crit_theory =/,/;/p' |
  tr -d ' ;\n' | sed 's/^variance_crit_theory=//' | tr ',' '\n' | sed -n 17p)
[ -n "$crit" ] && near "$crit" "$file_crit" 0 && pass "orthogonal d=8 a=0.3 variance_crit_theory: json $crit, ncdump $file_crit" ||
  fail "json variance_crit_theory '$crit' vs ncdump '$file_crit'"

# With biases: the bias variances too.
mpi 2 "$L" run "$top_srcdir/tests/decks/bias.ini" --quiet --output bias.nc || fail "bias.ini run"
for format in table csv json; do "$L" info bias.nc --format $format >bias.$format || fail "info bias.nc $format"; done
compare bias bias.nc
grep -q '^  bias variances  0, 0.05$' bias.table && pass "table lists the bias variances" ||
  { fail "no bias variances in the table"; head -12 bias.table; }

# A checkpoint: a run stopped by SIGUSR1 (as in test_resume_after_faults.sh).
done_tasks() { ncdump -v done "$1" 2>/dev/null | sed -n '/^ done =/,/;/p' | tr -cd '1' | wc -c; }
"$MPIEXEC" --oversubscribe -np 2 "$L" run "$top_srcdir/tests/decks/resume.ini" --quiet --output stopped.nc 2>stopped.err &
pid=$!
i=0
while [ "$(done_tasks stopped.nc.partial)" -lt 3 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
stop_and_wait $pid
kept=$(done_tasks stopped.nc.partial)
[ "$status" -eq 3 ] && [ -s stopped.nc.partial ] || { fail "SIGUSR1 run: exit $status (want 3)"; cat stopped.err; }
for format in table csv json; do
  "$L" info stopped.nc.partial --format $format >stopped.$format || fail "info stopped.nc.partial $format"
done
compare stopped stopped.nc.partial
json_done=$(sed -n 's/.*"tasks_done": \([0-9]*\).*/\1/p' stopped.json)
if [ "$json_done" = "$kept" ] && [ "$kept" -lt 24 ] &&
   grep -q "^stopped.nc.partial: phase diagram by .*, a checkpoint: $kept/24 tasks done.*; continue it with: lyapdiag run .*resume.ini --output stopped.nc --resume$" stopped.table &&
   grep -q '(not done)' stopped.table && grep -q '"done": false, "variance_crit": null' stopped.json; then
  pass "checkpoint: info says $kept/24 tasks done, as ncdump counts; unfinished tasks null"
else
  fail "checkpoint: json tasks_done '$json_done', ncdump $kept"; head -2 stopped.table
fi
expect_error "FILE missing, its checkpoint there" 1 "error: stopped.nc: no such file, but its checkpoint stopped.nc.partial is there .*lyapdiag info stopped.nc.partial$" \
  "$L" info stopped.nc

# A training file (lyapdiag train) and its checkpoint: the deck's grid,
# tasks done and diverged, and per configuration numpy's median and
# quartiles of final_test_loss over the finished seeds that did not diverge.
cat >compare_train.py <<'PY'
import csv, itertools, json, math, sys
import numpy as np
import xarray as xr
path, jsonfile, csvfile, tablefile = sys.argv[1:5]
ds = xr.open_dataset(path)
doc = json.load(open(jsonfile))
rows = list(csv.DictReader(open(csvfile)))
table = open(tablefile).read()
failures, compared = [], 0
def check(ok, what):
    if not ok:
        failures.append(what)
def same(got, want, what):
    global compared
    compared += 1
    if got is None or (isinstance(got, str) and got == "nan"):
        check(math.isnan(want), "%s: %r, want %r" % (what, got, want))
    else:
        check(abs(float(got) - want) <= 1e-14 * abs(want), "%s: %r, want %.17g" % (what, got, want))
dims = ["method", "width", "depth", "slope", "optimizer", "learning_rate"]
check(doc["deck"] == ds.attrs["deck"] and doc["deck_file"] == ds.attrs["deck_file"], "deck")
check(doc["methods"] == [str(m) for m in ds.method.values], "methods %r" % doc["methods"])
check(doc["optimizers"] == [str(m) for m in ds.optimizer.values], "optimizers %r" % doc["optimizers"])
check(doc["widths"] == [int(w) for w in ds.width.values], "widths")
check(doc["seeds"] == ds.seed.size, "seeds")
done, diverged = ds.done.values, ds.diverged.values
check(doc["tasks"] == done.size and doc["tasks_done"] == int((done == 1).sum()), "tasks, tasks_done")
check(doc["diverged"] == int(((done == 1) & (diverged == 1)).sum()), "diverged %r" % doc["diverged"])
configs = list(itertools.product(*[ds[d].values for d in dims]))
check(len(doc["final_test_loss"]) == len(configs) == len(rows), "rows: json %d, csv %d, want %d"
      % (len(doc["final_test_loss"]), len(rows), len(configs)))
for k, point in enumerate(configs):
    sel = dict(zip(dims, point))
    j, c = doc["final_test_loss"][k], rows[k]
    where = " ".join(str(v) for v in point)
    check(j["method"] == c["method"] == str(point[0]) and j["optimizer"] == c["optimizer"] == str(point[4]) and
          j["width"] == int(c["width"]) == int(point[1]) and float(c["learning_rate"]) == j["learning_rate"] == point[5],
          where + ": coordinates")
    d, v, f = ds.done.sel(sel).values, ds.diverged.sel(sel).values, ds.final_test_loss.sel(sel).values
    finite = f[(d == 1) & (v != 1) & np.isfinite(f)]
    q = np.percentile(finite, [50, 25, 75]) if finite.size else [math.nan] * 3
    check(j["finished"] == int(c["finished"]) == int((d == 1).sum()), where + ": finished")
    check(j["diverged"] == int(c["diverged"]) == int(((d == 1) & (v == 1)).sum()), where + ": diverged")
    for name, want in zip(["median", "q25", "q75"], q):
        same(j[name], float(want), where + " json " + name)
        same(c[name], float(want), where + " csv " + name)
want = "%d/%d tasks done, %d diverged" % (doc["tasks_done"], doc["tasks"], doc["diverged"])
check(want in table.splitlines()[0], "table's first line lacks %r" % want)
for line in ds.attrs["deck"].splitlines():
    check(("  " + line).rstrip() in table.splitlines(), "table lacks the deck line %r" % line)
for f in failures[:20]:
    print("  " + f)
print("%d values compared, %d failures" % (compared, len(failures)))
sys.exit(1 if failures else 0)
PY
compare_train() { # NAME FILE
  if [ "$have_xarray" = no ]; then
    echo "SKIP: $1: $PYTHON3 lacks xarray/netCDF4"; return
  fi
  "$PYTHON3" compare_train.py "$2" "$1.json" "$1.csv" "$1.table" >"$1.cmp" 2>&1 &&
    pass "$1: training json and csv are the file's quartiles per configuration ($(tail -1 "$1.cmp"))" ||
    { fail "$1: info differs from the training file"; cat "$1.cmp"; }
}
mpi 1 "$L" train "$top_srcdir/tests/decks/train_small.ini" --quiet --output train.nc || fail "train_small.ini"
for format in table csv json; do
  "$L" info train.nc --format $format >train.$format 2>train.$format.err && [ ! -s train.$format.err ] ||
    { fail "info train.nc --format $format"; cat train.$format.err; }
done
compare_train train train.nc
grep -q '^train.nc: training runs by lyapdiag .*, complete: 112/112 tasks done, [1-9][0-9]* diverged$' train.table &&
  grep -q '^grid: 7 methods x 2 widths x 1 depth x 1 slope x 2 optimizers x 2 learning rates x 2 seeds = 112 tasks$' train.table &&
  grep -q 'postproc/plot_training.py train.nc' train.table &&
  pass "training table: complete 112/112, the diverged count, the grid, the plot command" ||
  { fail "training table lines"; head -12 train.table; }
sed -e 's/^steps          = 200$/steps          = 20000/' -e 's/^record_every   = 50$/record_every   = 5000/' \
  "$top_srcdir/tests/decks/train_small.ini" >train_long.ini
"$L" train train_long.ini --quiet --output tstop.nc 2>tstop.err &
pid=$!
i=0
while [ "$(done_tasks tstop.nc.partial)" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
stop_and_wait $pid
kept=$(done_tasks tstop.nc.partial)
[ "$status" -eq 3 ] && [ -s tstop.nc.partial ] || { fail "SIGUSR1 train: exit $status (want 3)"; cat tstop.err; }
for format in table csv json; do
  "$L" info tstop.nc.partial --format $format >tstop.$format || fail "info tstop.nc.partial $format"
done
compare_train tstop tstop.nc.partial
grep -q "^tstop.nc.partial: training runs by .*, a checkpoint: $kept/112 tasks done, [0-9]* diverged; continue it with: lyapdiag train train_long.ini --output tstop.nc --resume$" tstop.table &&
  pass "training checkpoint: info says $kept/112 tasks done and how to continue" ||
  { fail "training checkpoint table"; head -2 tstop.table; }

# Bad inputs: one line naming the file and the fix.
expect_error "missing file" 1 "error: nothere.nc: No such file or directory; give the file lyapdiag run or train wrote" \
  "$L" info nothere.nc
echo "not a netcdf file" >text.nc
expect_error "not NetCDF" 1 "error: text.nc: cannot read it as NetCDF \(.*\): not a NetCDF file, or damaged; info reads the files lyapdiag run and lyapdiag train write" \
  "$L" info text.nc
printf 'netcdf other { dimensions: n = 2 ; variables: double v(n) ; data: v = 1, 2 ; }\n' >other.cdl
if ncgen -4 -o other.nc other.cdl 2>/dev/null; then
  expect_error "NetCDF, not lyapdiag's" 1 "error: other.nc: not a lyapdiag phase diagram \(it has no deck attribute\); info reads" \
    "$L" info other.nc
fi
"$L" init --width 4 --slope 0.1 --depth 3 --output w.nc >/dev/null || fail "init w.nc"
expect_error "init's network" 1 "error: w.nc: a network written by lyapdiag init, not a phase diagram: load it with postproc/load_init_weights.py" \
  "$L" info w.nc
mkdir -p adir
expect_error "a directory" 1 "error: adir: is a directory; give the file lyapdiag run or train wrote in it" "$L" info adir
cp small.nc truncated.nc && truncate -s 5000 truncated.nc
expect_error "truncated file" 1 "error: truncated.nc: .*(damaged|not a NetCDF)" "$L" info truncated.nc
expect_error "no FILE" 2 "info: missing FILE \(e.g. lyapdiag info phase.nc\) \(see 'lyapdiag info --help'\)" "$L" info
expect_error "two files" 2 "info: unexpected argument 'bias.nc': one FILE only" "$L" info small.nc bias.nc
expect_error "did you mean" 2 "info: unknown option '--fromat'; did you mean '--format'\?" "$L" info small.nc --fromat json
expect_error "bad format" 2 "info: --format must be table, csv or json, not 'xml'" "$L" info small.nc --format=xml
expect_error "mistyped command" 2 "unknown command 'inof'; did you mean 'info'\?" "$L" inof small.nc
if "$L" info --help >help.txt 2>help.err && [ ! -s help.err ] && grep -q '^  lyapdiag info FILE' help.txt &&
   "$L" --help | grep -q '^  lyapdiag info FILE'; then
  pass "info --help: exit 0, its usage; lyapdiag --help lists it"
else
  fail "info --help"; cat help.txt help.err
fi
finish

#!/bin/sh
# The command line has one style: long options as --name VALUE or
# --name=VALUE, --help on every command, --output everywhere (init's --out
# a deprecated alias), did-you-mean for mistyped options; every refusal is
# one line naming the option and the fix, exit status 2.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
L=$LYAPDIAG

# ---- formats ---------------------------------------------------------------
# compare TABLE CSV JSON D [MC]: every value of the table is in the csv and
# the json at full precision (equal to the table to its printed digits), the
# json's keys are the contract, and the csv and the json agree exactly.
cat >compare.py <<'PY'
import csv, json, math, sys
table, csvfile, jsonfile, d = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
failures = []
def check(ok, what):
    if not ok:
        failures.append(what)
main, law, section = {}, {}, None
for line in open(table):
    w = line.split()
    if line.startswith("Exact law of"):
        section = "law"
    elif len(w) >= 5 and w[0] != "family" and not w[0].startswith(("variance", "lambda", "p_vanish")):
        try:
            nums = [float(x) for x in w[2:]]
        except ValueError:
            continue
        key = (w[0], w[1])
        (law if section == "law" else main)[key] = nums
rows = list(csv.DictReader(open(csvfile)))
doc = json.load(open(jsonfile))
keys = ["family", "scale", "method", "variance", "lambda", "v", "s2_crit", "entry_std"]
mc = ["lambda_stderr", "v_stderr", "s2_crit_stderr"]
depth = ["p_vanish", "p_explode", "q05", "median", "q95"]
check(len(rows) == len(doc["rows"]), "csv and json have %d and %d rows" % (len(rows), len(doc["rows"])))
def near(x, ref, tol, what): # json null where the table shows nan, inf or -inf
    if x is None:
        check(not math.isfinite(ref), "%s: null vs the table's %r" % (what, ref))
    else:
        check(abs(x - ref) <= tol, "%s: %r vs the table's %r" % (what, x, ref))
compared = 0
for c, j in zip(rows, doc["rows"]):
    name = (j["family"], j["scale"])
    want = keys + (mc if j["method"] == "monte carlo" else []) + (depth if "depth" in doc else [])
    check(sorted(j) == sorted(want), "json keys %s, want %s" % (sorted(j), sorted(want)))
    for k in want[3:]:
        x = float(c[k])
        check(not math.isfinite(x) if j[k] is None else x == j[k],
              "%s %s: csv %r, json %r" % (name, k, c[k], j[k]))
    if name in main:
        t = main[name]
        for k, ref, tol in (("variance", t[0], 5e-7), ("lambda", t[1], 5e-9), ("v", t[2], 5e-9),
                            ("s2_crit", t[3], 5e-9), ("entry_std", t[4], 5e-9)):
            near(j[k], ref, tol, "%s %s" % (name, k)); compared += 1
        near(j["entry_std"], math.sqrt(j["variance"] / (d // 2 if "looks-linear" in j["family"] else d)), 1e-15, "%s entry_std = sqrt(s2/d)" % (name,))
    else:
        check(False, "%s: json row not in the table" % (name,))
    if name in law:
        for k, ref in zip(depth, law[name][1:]):
            near(j[k], ref, 5e-4 * abs(ref) + 1e-300, "%s %s" % (name, k)); compared += 1
    if j["method"] == "monte carlo":
        se = [r for (f, s), r in main.items() if f == j["family"] and s == "stderr"]
        check(len(se) > 0, "%s: no stderr row in the table" % (name,))
        for k, ref in zip(mc, se[0] if se else []):
            near(j[k], ref, 5e-9, "%s %s" % (name, k)); compared += 1
for f in failures:
    print("  " + f)
print("%d values compared, %d failures" % (compared, len(failures)))
sys.exit(1 if failures else 0)
PY
# formats NAME THEORY-ARGS...: table, csv and json of one theory call agree.
formats() {
  local name=$1; shift
  "$L" theory "$@" >"$name.txt" && "$L" theory "$@" --format csv >"$name.csv" &&
    "$L" theory "$@" --format=json >"$name.json" || { fail "$name: theory $*"; return; }
  if [ "$have_python" = yes ]; then
    "$PYTHON3" compare.py "$name.txt" "$name.csv" "$name.json" "$WIDTH" >"$name.cmp" 2>&1 &&
      pass "$name: csv and json parse back to the table's values ($(tail -1 "$name.cmp"))" ||
      { fail "$name: formats disagree"; cat "$name.cmp"; }
  else # awk alone: the csv's s2_crit of the first row against the table's
    t=$(awk 'NR == 3 { print $6 }' "$name.txt") c=$(awk -F, 'NR == 2 { print $9 }' "$name.csv")
    near "$c" "$t" 5e-9 && pass "$name: csv s2_crit $c = table $t (no python3: json unchecked)" ||
      fail "$name: csv s2_crit '$c' vs table '$t'"
  fi
}
have_python=no
"$PYTHON3" -c 'import json, csv' 2>/dev/null && have_python=yes
WIDTH=4 formats gaussian-orthogonal --width 4 --slope 0.1
WIDTH=4 formats with-depth --width 4 --slope 0.1 --depth 100
WIDTH=8 formats looks-linear --width 8 --slope 0.3 --family looks-linear --variance=2
WIDTH=16 formats relu --width 16 --slope 0 --family gaussian --depth 30
# The number a script wants: s2_crit of the gaussian json = the table's.
table_crit=$(awk '$1 == "gaussian" && $2 == "He" { print $6 }' gaussian-orthogonal.txt)
json_crit=$(sed -n 's/.*"family": "gaussian", "scale": "He".*"s2_crit": \([^,}]*\).*/\1/p' gaussian-orthogonal.json)
near "$json_crit" "$table_crit" 5e-9 && pass "gaussian s2_crit: json $json_crit = table $table_crit" ||
  fail "gaussian s2_crit: json '$json_crit' vs table '$table_crit'"
# Full precision in the fewest digits that read back exactly (compare.py
# checks the values): the slope 0.1 is 0.1, not %.17g's 0.10000000000000001.
grep -q '^{"width": 4, "slope": 0.1, "depth": 100, "eps": 0.001,$' with-depth.json &&
  grep -q '^gaussian,He,exact,4,0.1,1.9801980198019802,' gaussian-orthogonal.csv && ! grep -q '0000000000000' with-depth.json &&
  pass "json and csv print 0.1 as 0.1: $(head -1 with-depth.json)" || { fail "shortest digits"; head -3 with-depth.json gaussian-orthogonal.csv; }
grep -q '^variance s2 is d = 4 times the variance of one weight entry: entry_std = sqrt(s2/d)' gaussian-orthogonal.txt &&
  pass "the table says what variance s2 is and gives entry_std" || fail "no variance note"
"$L" theory --width 8 --slope 0.3 --family looks-linear --depth 9 >ll-depth.txt
if grep -q '^looks-linear  *Lyapunov  *[0-9.]* *0.00000000 ' ll-depth.txt && ! grep -q 'nan' ll-depth.txt &&
   grep -q 'no finite-depth law in closed form.*lambda, v and s2_crit above are exact' ll-depth.txt; then
  pass "looks-linear: exact values, and the message says only the depth law is missing"
else
  fail "looks-linear message"; cat ll-depth.txt
fi
# ---- Monte Carlo answers: families without a closed form ---------------------
# Labelled, with a stderr row under each estimate (checked by compare.py
# against the csv and json, whose rows must then carry the stderr keys);
# csv and json come from separate runs, so their equality also shows that a
# seed gives the same answer.
start=$(date +%s.%N)
WIDTH=8 formats uniform --width 8 --slope 0.1 --family uniform
seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", (e - s) / 3 }')
WIDTH=16 formats rademacher --width 16 --slope 0.1 --family rademacher --depth 20
if grep -q '^Monte Carlo estimate (no closed form) at width d = 8' uniform.txt &&
   grep -q '^uniform  *stderr  *0\.0' uniform.txt && grep -q '^Monte Carlo: no closed form' uniform.txt &&
   ! grep -q 'nan' uniform.txt && grep -q '^uniform,He,monte carlo,' uniform.csv; then
  pass "uniform: labelled Monte Carlo, with stderr rows, no nan, in about $seconds s a run"
else
  fail "uniform Monte Carlo labels"; cat uniform.txt
fi
# The answer agrees with a longer, independent run (8x the replicas, another
# seed) within 4 standard errors of their difference, for lambda, v and
# s2_crit; s2_crit = exp(-2 lambda(1)) and its stderr 2 s2_crit stderr(lambda).
"$L" theory --width 8 --slope 0.1 --family uniform --variance 1 --format csv >short.csv &&
  "$L" theory --width 8 --slope 0.1 --family uniform --variance 1 --format csv --seed 2 --replicas 20000 >long.csv ||
  fail "uniform Monte Carlo runs"
# csv columns: 7 lambda, 8 v, 9 s2_crit, 11-13 their stderrs.
if awk -F, 'FNR == 2 { for (i = 7; i <= 13; i++) x[FILENAME == ARGV[1], i] = $i }
  END {
    split("lambda v s2_crit", name, " "); bad = 0
    for (k = 0; k < 3; k++) {
      a = x[1, 7 + k]; sa = x[1, 11 + k]; b = x[0, 7 + k]; sb = x[0, 11 + k]
      z = (a - b) / sqrt(sa * sa + sb * sb)
      printf "  %s %.6f +- %.6f, longer run %.6f +- %.6f: %.1f stderr\n", name[k + 1], a, sa, b, sb, z
      if (!(sa > 0 && sb < sa && z <= 4 && z >= -4)) bad = 1
    }
    c = exp(-2 * x[1, 7]); dc = 2 * x[1, 9] * x[1, 11]
    if ((x[1, 9] - c) ^ 2 > (1e-12 * c) ^ 2 || (x[1, 13] - dc) ^ 2 > (1e-12 * dc) ^ 2) {
      print "  s2_crit is not exp(-2 lambda(1)) with the delta method stderr"; bad = 1
    }
    exit bad
  }' short.csv long.csv >mc.cmp; then
  pass "uniform d=8 a=0.1 at s2 = 1 agrees with an independent run of 8x the replicas:"; cat mc.cmp
else
  fail "uniform Monte Carlo against a longer run"; cat mc.cmp short.csv long.csv
fi
"$L" theory --width 3 --slope 0.1 --family rademacher >deaths.txt
grep -q '^rademacher  *He  *[0-9.]*  *-inf ' deaths.txt && grep -q 'killed exactly (W x = 0) at a rate of' deaths.txt &&
  pass "rademacher d=3: deaths seen, lambda = -inf, and the table says why" || { fail "rademacher deaths"; cat deaths.txt; }
expect_error "too long a Monte Carlo" 2 "theory: --family uniform has no closed form, and its Monte Carlo answer at --width 16384 needs about [0-9]+ s: give --replicas N" \
  "$L" theory --width 16384 --slope 0.1 --family uniform
expect_error "unknown format" 2 "theory: --format must be table, csv or json, not 'xml'" \
  "$L" theory --width 4 --slope 0.1 --format xml

# ---- options ----------------------------------------------------------------
"$L" theory --width 4 --slope 0.1 --variance 2 >space.txt 2>&1 &&
  "$L" theory --width=4 --slope=0.1 --variance=2 >equals.txt 2>&1 && cmp -s space.txt equals.txt &&
  grep -q '^gaussian  *given  *2.000000 ' equals.txt &&
  pass "--name=value and --name value give the same table" || { fail "--name=value"; cat space.txt equals.txt; }
for command in run theory info init train; do
  if "$L" $command --help >help.txt 2>help.err && [ ! -s help.err ] && grep -q "^  lyapdiag $command " help.txt; then
    pass "$command --help: exit 0, its usage ($(wc -l <help.txt) lines)"
  else
    fail "$command --help"; cat help.txt help.err
  fi
done
"$L" init --help | grep -q 'FAMILIES' && pass "init --help lists the families" || fail "init --help lacks the families"
expect_error "theory: did you mean" 2 "theory: unknown option '--varience'; did you mean '--variance'\? \(see 'lyapdiag theory --help'\)" \
  "$L" theory --width 4 --slope 0.1 --varience 2
expect_error "theory: did you mean, with =" 2 "unknown option '--widht'; did you mean '--width'\?" \
  "$L" theory --widht=4 --slope 0.1
expect_error "run: --out means --output" 2 "run: unknown option '--out'; did you mean '--output'\?" \
  "$L" run deck.ini --out x.nc
expect_error "init: did you mean" 2 "init: unknown option '--candidate'; did you mean '--candidates'\?" \
  "$L" init --width 8 --slope 0.1 --depth 5 --candidate 4 --output x.nc
expect_error "unknown option, nothing near" 2 "theory: unknown option '--fast'; the options are --width, --slope, .*--help" \
  "$L" theory --width 4 --slope 0.1 --fast
expect_error "flag given a value" 2 "run: --quiet takes no value; give --quiet alone" "$L" run deck.ini --quiet=yes
expect_error "option without its value" 2 "theory: --slope needs a value, e.g. --slope 0.1" "$L" theory --width 4 --slope
expect_error "empty value after =" 2 "init: --output needs a value, e.g. --output W.nc" \
  "$L" init --width 8 --slope 0.1 --depth 5 --output=
expect_error "a value that is an option" 2 "run: --output needs a value" "$L" run deck.ini --output --quiet
expect_error "not a number" 2 "theory: --variance: 'two' is not a number" "$L" theory --width 4 --slope 0.1 --variance two
expect_error "stray operand" 2 "theory: unexpected argument 'gaussian'" "$L" theory --width 4 --slope 0.1 gaussian
expect_error "two decks" 2 "run: unexpected argument 'b.ini': one DECK only" "$L" run a.ini b.ini
expect_error "same words in theory and init" 2 "init: --slope must lie in \[0, 1\] \(0 = ReLU, 1 = linear\), not 2" \
  "$L" init --width 8 --slope 2 --depth 5 --output x.nc
expect_error "mistyped command" 2 "unknown command 'theroy'; did you mean 'theory'\?" "$L" theroy --width 4
# ---- whole numbers: every integer option reads them as the deck does --------
# (lyap_deck_whole, the deck's reader of `replicas = 1e4`): exponent forms
# are the same number, exactly, up to a seed of 2^64-1; anything not whole,
# out of range, hexadecimal or padded is refused with the option and its range.
"$L" theory --width 8 --slope 0.1 --family uniform --seed=1e3 --replicas=1e3 --format csv >exp.csv &&
  "$L" theory --width 8 --slope 0.1 --family uniform --seed 1000 --replicas 1000 --format csv >plain.csv &&
  cmp -s exp.csv plain.csv && pass "theory --seed=1e3 --replicas=1e3 = --seed 1000 --replicas 1000" ||
  { fail "theory exponent-form seed and replicas"; cat exp.csv plain.csv; }
"$L" theory --width 4e0 --slope 0.1 --family uniform --seed=1.8446744073709551615e19 --replicas=6.4e1 --format csv >big1.csv &&
  "$L" theory --width 4 --slope 0.1 --family uniform --seed=18446744073709551615 --replicas 64 --format csv >big2.csv &&
  "$L" theory --width 4 --slope 0.1 --family uniform --seed=18446744073709551614 --replicas 64 --format csv >big3.csv &&
  cmp -s big1.csv big2.csv && ! cmp -s big2.csv big3.csv &&
  pass "--seed=1.8446744073709551615e19 is 2^64-1 exactly (and not 2^64-2)" ||
  { fail "exact 64-bit seed in exponent form"; cat big1.csv big2.csv big3.csv; }
"$L" theory --width 4 --slope 0.1 --depth=1e2 >depth-exp.txt && "$L" theory --width 4 --slope 0.1 --depth 100 >depth-plain.txt &&
  cmp -s depth-exp.txt depth-plain.txt && pass "theory --depth=1e2 = --depth 100" || fail "theory --depth=1e2"
if "$L" init --width=8e0 --slope 0.1 --depth=6e1 --candidates=1e1 --inputs=1.6e1 --seed=1.5e3 --output=exp.nc >iexp.out &&
   "$L" init --width 8 --slope 0.1 --depth 60 --candidates 10 --inputs 16 --seed 1500 --output plain.nc >iplain.out &&
   [ "$(sed 's/ in [0-9.]* s$//; s/exp.nc/FILE/' iexp.out)" = "$(sed 's/ in [0-9.]* s$//; s/plain.nc/FILE/' iplain.out)" ]; then
  pass "init in exponent forms draws the same network: $(sed 's/.*; //' iplain.out)"
else
  fail "init in exponent forms"; cat iexp.out iplain.out
fi
expect_error "run --threads=2e0 is read (the missing deck is the error)" 1 "nosuch.ini: cannot open deck" \
  "$L" run nosuch.ini --threads=2e0
expect_error "seed not whole" 2 "theory: --seed must be a whole number from 0 to 2\^64-1, not 1.5 " \
  "$L" theory --width 4 --slope 0.1 --family uniform --seed=1.5
expect_error "seed above 2^64-1" 2 "theory: --seed must be a whole number from 0 to 2\^64-1, not 2e19 " \
  "$L" theory --width 4 --slope 0.1 --family uniform --seed 2e19
expect_error "fractional exponent" 2 "theory: --replicas must be a whole number from 16 to 100000000, not 1e4.5 \(exponent forms are fine when whole: 1e4, 1.5e3\)" \
  "$L" theory --width 4 --slope 0.1 --family uniform --replicas=1e4.5
expect_error "replicas out of range" 2 "theory: --replicas must be a whole number from 16 to 100000000, not 1e9 " \
  "$L" theory --width 4 --slope 0.1 --family uniform --replicas 1e9
expect_error "hexadecimal width" 2 "theory: --width must be a whole number from 1 to 65536, not 0x10 " \
  "$L" theory --width 0x10 --slope 0.1
expect_error "depth out of range" 2 "theory: --depth must be a whole number from 1 to 1000000000, not 1e10 " \
  "$L" theory --width 4 --slope 0.1 --depth 1e10
expect_error "init candidates not whole" 2 "init: --candidates must be a whole number from 1 to 1000000, not 2.5 " \
  "$L" init --width 8 --slope 0.1 --depth 5 --candidates 2.5 --output x.nc
expect_error "init inputs negative" 2 "init: --inputs must be a whole number from 1 to 1000000, not -1e1 " \
  "$L" init --width 8 --slope 0.1 --depth 5 --inputs=-1e1 --output x.nc
expect_error "init seed in exponent form, not whole" 2 "init: --seed must be a whole number from 0 to 2\^64-1, not 1.25e1 " \
  "$L" init --width 8 --slope 0.1 --depth 5 --seed 1.25e1 --output x.nc
expect_error "run threads out of range" 2 "run: --threads must be a whole number from 1 to 256, not 1e3 " \
  "$L" run deck.ini --threads=1e3
# init writes with --output; --out still works, with a one-line note.
if "$L" init --width 4 --slope 0.1 --depth 5 --output=new.nc >new.out 2>new.err && [ -s new.nc ] && [ ! -s new.err ] &&
   "$L" init --width 4 --slope 0.1 --depth 5 --out old.nc >old.out 2>old.err && [ -s old.nc ] &&
   grep -q "^lyapdiag: init: --out is deprecated and will go; use --output$" old.err; then
  pass "init --output=new.nc; --out old.nc still writes, saying '$(cat old.err)'"
else
  fail "init --output / --out"; cat new.err old.err
fi
[ ! -e x.nc ] && pass "no file after any refusal" || fail "x.nc left after a refusal"
finish

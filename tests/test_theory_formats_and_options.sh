#!/bin/sh
# The command line has one style: long options as --name VALUE or
# --name=VALUE, --help on every command, --output everywhere (init's --out
# a deprecated alias), did-you-mean for mistyped options; every refusal is
# one line naming the option and the fix, exit status 2.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
L=$LYAPDIAG

# ---- options ----------------------------------------------------------------
"$L" theory --width 4 --slope 0.1 --variance 2 >space.txt 2>&1 &&
  "$L" theory --width=4 --slope=0.1 --variance=2 >equals.txt 2>&1 && cmp -s space.txt equals.txt &&
  grep -q '^gaussian  *given  *2.000000 ' equals.txt &&
  pass "--name=value and --name value give the same table" || { fail "--name=value"; cat space.txt equals.txt; }
for command in run theory init; do
  if "$L" $command --help >help.txt 2>help.err && [ ! -s help.err ] && grep -q "^  lyapdiag $command " help.txt; then
    pass "$command --help: exit 0, its usage ($(wc -l <help.txt) lines)"
  else
    fail "$command --help"; cat help.txt help.err
  fi
done
grep -q 'FAMILIES' help.txt && pass "init --help lists the families" || fail "init --help lacks the families"
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

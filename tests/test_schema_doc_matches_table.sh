#!/bin/sh
# doc/DESIGN.md's output schema is the schema table itself: the block
# between its "lyapdiag --help-output" markers equals what the program
# prints from src/result.c, and every variable of that table is in a file
# the program writes (check_phase_file checks their dimensions).
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
"$LYAPDIAG" --help-output >printed.txt || fail "lyapdiag --help-output failed"
sed -n '/<!-- begin: lyapdiag --help-output -->/,/<!-- end: lyapdiag --help-output -->/p' \
  "$top_srcdir/doc/DESIGN.md" | sed '1,2d;$d' | sed '$d' >documented.txt
if diff -u documented.txt printed.txt >diff.txt; then
  pass "doc/DESIGN.md lists exactly the $(grep -c '^[a-z_]*(' printed.txt) variables of the schema table"
else
  fail "doc/DESIGN.md's schema differs from lyapdiag --help-output (paste ./lyapdiag --help-output between its markers):"; cat diff.txt
fi
"$LYAPDIAG" --help | grep -q -- '--help-output' && pass "--help names --help-output" || fail "--help lacks --help-output"
finish

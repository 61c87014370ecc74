#!/bin/sh
# Fuzzes the deck parser with libFuzzer under ASan + UBSan for a bounded
# time (FUZZ_SECONDS, default 60), seeded with every deck of the project:
# no crash, no sanitizer report, every rejection one line naming the deck
# (fuzz_deck_parser.c checks that). Skipped (exit 77) without clang and
# libFuzzer (Debian: clang-14 libclang-rt-14-dev).
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
[ -n "$CLANG" ] || { echo "SKIP: no clang (apt-get install clang-14 libclang-rt-14-dev)"; exit 77; }
src=$top_srcdir/src
if ! "$CLANG" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
     -D_POSIX_C_SOURCE=200809L -I"$top_srcdir/include" "$top_srcdir/tests/fuzz_deck_parser.c" \
     "$src/deck.c" "$src/traindeck.c" "$src/error.c" "$src/family.c" -linih -lm -o fuzz_deck_parser 2>build.err; then
  if grep -q 'libclang_rt.fuzzer\|fuzzer' build.err; then
    echo "SKIP: clang without libFuzzer (apt-get install libclang-rt-14-dev)"; cat build.err; exit 77
  fi
  cat build.err; fail "fuzz target does not build"; finish
fi
mkdir -p corpus
cp "$top_srcdir"/inputs/*.ini "$top_srcdir"/tests/decks/*.ini corpus/
./fuzz_deck_parser -max_total_time="${FUZZ_SECONDS:-60}" -seed=1 -max_len=4096 -timeout=10 \
  -print_final_stats=1 corpus >fuzz.log 2>&1
status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz.log)
if [ "$status" -eq 0 ]; then
  pass "fuzzed the deck parser: $runs executions in ${FUZZ_SECONDS:-60} s, no finding"
else
  fail "fuzzer finding (exit $status) after $runs executions:"; tail -40 fuzz.log
fi
finish

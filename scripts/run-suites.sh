#!/bin/sh
# Runs each test program given; prints its output; exits non-zero if any fails.
# A test that cannot run here (missing data, a tool not built, a CPU feature)
# prints "DSN-SKIP <test>: <reason>" (tests/support/testutil.h, TU_SKIP);
# Check counts it as passed, so this script subtracts it. Closes with
#   tests: N passed, N failed, N skipped
#   suites: N passed, N failed
# counting the tests from Check's "Checks: N, Failures: N, Errors: N" lines.
pass=0; fail=0; failed=""
tpass=0; tfail=0; tskip=0; skipped=""
log=$(mktemp "${TMPDIR:-/tmp}/run-suites.XXXXXX") || exit 1
trap 'rm -f "$log" "$log.rc"' EXIT
for t in "$@"; do
  echo "== $t"
  { "$t"; echo $? > "$log.rc"; } 2>&1 | tee "$log"
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  if [ "$rc" -eq 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $t"; fi
  counts=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
  s=$(grep -c '^DSN-SKIP ' "$log")
  if [ -n "$counts" ]; then
    n=${counts%% *}; rest=${counts#* }
    f=$(( ${rest%% *} + ${rest#* } ))
  else
    n=0; f=1   # the suite died before Check's summary: count it as one failed test
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  tfail=$((tfail+f)); tskip=$((tskip+s))
  p=$((n - f - s)); [ "$p" -lt 0 ] && p=0
  tpass=$((tpass+p))
  [ "$s" -gt 0 ] && skipped="$skipped
$(sed -n 's/^DSN-SKIP /  /p' "$log")"
done
[ -n "$skipped" ] && echo "skipped tests:$skipped"
[ -n "$failed" ] && echo "failed suites:$failed"
echo "tests: $tpass passed, $tfail failed, $tskip skipped"
echo "suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

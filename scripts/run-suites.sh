#!/bin/sh
# Runs each test program given; prints its output; exits non-zero if any fails.
# Closes with "N passed, N failed" counting test programs.
pass=0; fail=0; failed=""
for t in "$@"; do
  echo "== $t"
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $t"; fi
done
[ -n "$failed" ] && echo "failed suites:$failed"
echo "suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

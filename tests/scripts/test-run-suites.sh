#!/bin/sh
# scripts/run-suites.sh counts a test that printed DSN-SKIP as skipped, not
# as passed, a failed suite as failed, and a suite that died before Check's
# summary as a failure; the summary lines are what CI reads.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/ok_with_skip" <<'X'
#!/bin/sh
echo "DSN-SKIP needs_data: no data here"
echo "100%: Checks: 5, Failures: 0, Errors: 0"
X
cat > "$tmp/one_fails" <<'X'
#!/bin/sh
echo "75%: Checks: 4, Failures: 1, Errors: 0"
exit 1
X
cat > "$tmp/dies" <<'X'
#!/bin/sh
exit 139
X
chmod +x "$tmp"/*
fails=0
check() { # name, expected last two lines, command...
  name=$1; want=$2; shift 2
  got=$("$here/scripts/run-suites.sh" "$@" 2>&1 | tail -n 2 | tr '\n' '|')
  if [ "$got" = "$want" ]; then echo "ok: $name"; else echo "FAIL: $name: got '$got', want '$want'"; fails=$((fails+1)); fi
}
check "a skip is not a pass" "tests: 4 passed, 0 failed, 1 skipped|suites: 1 passed, 0 failed|" "$tmp/ok_with_skip"
check "failures and a dead suite" "tests: 7 passed, 2 failed, 1 skipped|suites: 1 passed, 2 failed|" \
  "$tmp/ok_with_skip" "$tmp/one_fails" "$tmp/dies"
if "$here/scripts/run-suites.sh" "$tmp/ok_with_skip" "$tmp/one_fails" >/dev/null 2>&1; then
  echo "FAIL: exit status 0 with a failed suite"; fails=$((fails+1))
else echo "ok: a failed suite fails the run"; fi
[ "$fails" -eq 0 ]

#!/bin/sh
# test-check-readme.sh - scripts/check-readme.py fails on what it must catch:
# a failing command, a block that does not print what its mark says, a C block
# that does not compile, an unknown mark; and lists "not run" blocks.
set -u
HERE=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/check-readme-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
fail() { echo "FAIL: $*"; cat "$T/out.txt"; exit 1; }
check() { # WANT_RC README_TEXT PATTERN
  printf '%s\n' "$2" > "$T/README.md"
  /usr/bin/python3 "$HERE/scripts/check-readme.py" --readme "$T/README.md" --build "$T" > "$T/out.txt" 2>&1
  rc=$?
  [ "$rc" -eq "$1" ] || fail "exit $rc, wanted $1, for: $2"
  grep -q -- "$3" "$T/out.txt" || fail "'$3' not in the output for: $2"
  n=$((n + 1))
}
check 0 "$(printf 'text\n\n    echo hello\n    true && \\\n        echo joined\n')" "2 commands ran as written"
check 1 "$(printf 'text\n\n    true\n    false\n    echo never\n')" "FAIL .*false: exit status 1"
check 0 "$(printf '<!-- check-readme: not run: too slow -->\n\n    sleep 1000\n')" "not run .*sleep 1000.*(too slow)"
check 1 "$(printf '<!-- check-readme: prints "yes" -->\n\n```python\nprint("no")\n```\n')" "did not print 'yes'"
check 0 "$(printf '<!-- check-readme: prints "yes" -->\n\n```python\nprint("yes")\n```\n')" "1 commands ran"
check 1 "$(printf '```c\nint main(void) { return undeclared; }\n```\n')" "does not compile"
check 1 "$(printf '<!-- check-readme: maybe -->\n\n    true\n')" "unknown check-readme mark"
echo "test-check-readme: $n cases passed"

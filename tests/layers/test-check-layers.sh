#!/bin/sh
# Proves that scripts/check-layers.py fails on what it is meant to catch: a
# copy of the tree passes, then each planted fault (a wrong include, an
# include cycle, the public header below lib/api, an include of a file that
# does not exist, a tool reaching into lib/ internals, a cycle in the table)
# must make it fail with a message naming the fault.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fresh() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t/docs"
  cp -r "$here/lib" "$here/include" "$here/tools" "$here/examples" "$tmp/t/"
  cp "$here/docs/design.md" "$tmp/t/docs/"
}
# expect_fail NAME PATTERN: the check must exit 1 and print PATTERN
expect_fail() {
  out=$("$py" "$here/scripts/check-layers.py" --root "$tmp/t" 2>&1); rc=$?
  if [ "$rc" -ne 1 ] || ! printf '%s\n' "$out" | grep -q -- "$2"; then
    echo "FAIL: $1: rc=$rc, want 1 and '$2'; output:"; printf '%s\n' "$out"; fails=$((fails+1))
  else
    echo "ok: $1 is caught"
  fi
}

fresh
if "$py" "$here/scripts/check-layers.py" --root "$tmp/t" >/dev/null; then echo "ok: the tree passes"
else echo "FAIL: the unchanged tree does not pass"; fails=$((fails+1)); fi

fresh; printf '#include "models/model.h"\n' >> "$tmp/t/lib/tensor/act.h"
expect_fail "tensor including models" "lib/tensor/act.h:.*'lib/tensor' may not include lib/models/model.h"

fresh; printf '#include "loss/likelihood.h"\n' >> "$tmp/t/lib/latent/gauss.h"
expect_fail "latent including loss" "lib/latent/gauss.h:.*'lib/latent' may not include"

fresh; printf '#include "core/cycle_b.h"\n' > "$tmp/t/lib/core/cycle_a.h"
printf '#include "core/cycle_a.h"\n' > "$tmp/t/lib/core/cycle_b.h"
expect_fail "an include cycle" "include cycle: lib/core/cycle_a.h -> lib/core/cycle_b.h -> lib/core/cycle_a.h"

fresh; printf '#include "disent.h"\n' >> "$tmp/t/lib/models/model.h"
expect_fail "the public header in lib/models" "lib/models/model.h:.*public header below lib/api"

fresh; printf '#include "core/no_such_file.h"\n' >> "$tmp/t/lib/core/rng.h"
expect_fail "an include of a missing file" "core/no_such_file.h\" names no file"

fresh; printf '#include "core/alloc.h"\n' >> "$tmp/t/tools/disent/cli.h"
expect_fail "the CLI including lib internals" "'tools/disent' may not include lib/core/alloc.h"

fresh; printf '#include <models/model.h>\n' >> "$tmp/t/examples/minimal.c"
expect_fail "an example including lib internals with <>" "'examples' may not include lib/models/model.h"

fresh; sed -i 's/^| `lib\/core` | nothing[^|]*|/| `lib\/core` | `lib\/tensor` |/' "$tmp/t/docs/design.md"
expect_fail "a cycle in the table" "layer table has a cycle"

[ "$fails" -eq 0 ] && echo "check-layers: every planted fault is caught"
[ "$fails" -eq 0 ]

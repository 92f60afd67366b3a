#!/usr/bin/env bash
# check-abi.sh LIB           compare LIB (a libdisent.so built with -g) with the
#                            ABI baseline abi/libdisent.abi: fails on any change
#                            to what the baseline exports (a removed function, a
#                            changed signature or type), not on additions (new
#                            functions; sized structs growing at the end,
#                            abi/suppressions.abignore).
# check-abi.sh --update LIB  rewrite the baseline from LIB (a deliberate ABI
#                            break or a release: say so in docs/api-changes.md).
# abidw/abidiff come from Debian's abigail-tools (scripts/setup-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
base=abi/libdisent.abi
if [ "${1:-}" = --update ]; then
  lib=${2:?usage: check-abi.sh --update LIB}
  abidw --headers-dir include --no-corpus-path --out-file "$base" "$lib"
  echo "check-abi: wrote $base from $lib"
  exit 0
fi
lib=${1:?usage: check-abi.sh LIB}
set +e
abidiff --no-added-syms --suppressions abi/suppressions.abignore --headers-dir2 include "$base" "$lib" \
  >"${TMPDIR:-/tmp}/check-abi.$$" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  cat "${TMPDIR:-/tmp}/check-abi.$$"
  rm -f "${TMPDIR:-/tmp}/check-abi.$$"
  echo "check-abi: $lib changes the ABI of $base (abidiff status $rc): keep the old calls, add new ones"
  exit 1
fi
rm -f "${TMPDIR:-/tmp}/check-abi.$$"
echo "check-abi: $lib keeps the ABI of $base (additions allowed)"

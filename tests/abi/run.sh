#!/usr/bin/env bash
# tests/abi/run.sh LIB - scripts/check-abi.sh catches changes to the MPI part's
# baseline (abi/libdisent_mpi.abi) of LIB, an MPI=1 build: the unchanged
# baselines pass; a function the baseline has and LIB lacks, a changed
# parameter list, and a missing MPI baseline each fail with their message.
set -euo pipefail
cd "$(dirname "$0")/../.."
lib=${1:?usage: tests/abi/run.sh LIB (an MPI=1 build of libdisent.so)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsn-abi-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
plant() { rm -rf "$tmp/abi"; cp -r abi "$tmp/abi"; }
expect() { # expect pass|fail WHAT PATTERN
  local want=$1 what=$2 pat=$3 rc=0
  ABI_DIR="$tmp/abi" scripts/check-abi.sh --mpi "$lib" >"$tmp/out" 2>&1 || rc=$?
  if { [ "$want" = pass ] && [ "$rc" -eq 0 ]; } || { [ "$want" = fail ] && [ "$rc" -ne 0 ] && grep -q "$pat" "$tmp/out"; }; then
    echo "ok - $what"
  else
    echo "FAIL - $what (status $rc)"; cat "$tmp/out"; fails=$((fails + 1))
  fi
}
plant
expect pass "the baselines as they are" ""
plant
sed -i "s/dsn_mpi_fit_stats/dsn_mpi_fit_gone/g" "$tmp/abi/libdisent_mpi.abi"
expect fail "a function of the MPI baseline that the library lacks" "changes the ABI of .*libdisent_mpi.abi"
plant
grep -q "name='bytes_per_reduction'" "$tmp/abi/libdisent_mpi.abi"
sed -i "/name='bytes_per_reduction'/d" "$tmp/abi/libdisent_mpi.abi"
expect fail "a changed parameter list of an MPI function" "changes the ABI of .*libdisent_mpi.abi"
plant
rm "$tmp/abi/libdisent_mpi.abi"
expect fail "no MPI baseline for a library with the MPI part" "no MPI baseline"
[ "$fails" -eq 0 ] && echo "abi tests passed" || { echo "abi tests: $fails failed"; exit 1; }

#!/usr/bin/env bash
# check-abi.sh [--mpi] LIB   compare LIB (a libdisent.so built with -g) with the
#                            ABI baselines: abi/libdisent.abi (the library
#                            without its MPI part) and, when LIB has the MPI
#                            part (dsn_fit_mpi, dsn_mpi_*: include/disent_mpi.h),
#                            abi/libdisent_mpi.abi. Fails on any change to what
#                            a baseline exports (a removed function, a changed
#                            signature or type), not on additions (new
#                            functions; sized structs growing at the end,
#                            abi/suppressions.abignore). --mpi: LIB must have
#                            the MPI part (a build with MPI=1).
# check-abi.sh --update LIB  rewrite the baselines from LIB (a deliberate ABI
#                            break or a release: say so in docs/api-changes.md):
#                            abi/libdisent.abi without the MPI part
#                            (abi/no-mpi.abignore), and abi/libdisent_mpi.abi
#                            with only that part (abi/mpi-only.abignore) when
#                            LIB has it.
# ABI_DIR (default abi) is where the baselines are (tests/abi/run.sh plants
# faults in a copy). abidw/abidiff come from Debian's abigail-tools
# (scripts/setup-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${ABI_DIR:-abi}
base=$dir/libdisent.abi
base_mpi=$dir/libdisent_mpi.abi

has_mpi() { nm -D --defined-only "$1" 2>/dev/null | grep -c ' T dsn_fit_mpi$' >/dev/null; }

if [ "${1:-}" = --update ]; then
  lib=${2:?usage: check-abi.sh --update LIB}
  abidw --headers-dir include --no-corpus-path --suppressions abi/no-mpi.abignore --out-file "$base" "$lib"
  echo "check-abi: wrote $base from $lib"
  if has_mpi "$lib"; then
    abidw --headers-dir include --no-corpus-path --suppressions abi/mpi-only.abignore --out-file "$base_mpi" "$lib"
    echo "check-abi: wrote $base_mpi from $lib"
  else
    echo "check-abi: $lib has no MPI part: $base_mpi left as it is (write it from an MPI=1 build)"
  fi
  exit 0
fi
need_mpi=0
if [ "${1:-}" = --mpi ]; then need_mpi=1; shift; fi
lib=${1:?usage: check-abi.sh [--mpi] LIB}

# compare LIB with one baseline; extra arguments are more abidiff options
check() {
  local baseline=$1 what=$2 log="${TMPDIR:-/tmp}/check-abi.$$"
  shift 2
  set +e
  abidiff --no-added-syms --suppressions abi/suppressions.abignore "$@" --headers-dir2 include "$baseline" "$lib" \
    >"$log" 2>&1
  local rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    cat "$log"
    rm -f "$log"
    echo "check-abi: $lib changes the ABI of $baseline ($what; abidiff status $rc): keep the old calls, add new ones"
    exit 1
  fi
  rm -f "$log"
  echo "check-abi: $lib keeps the ABI of $baseline ($what; additions allowed)"
}

check "$base" "the library without its MPI part" --suppressions abi/no-mpi.abignore
if has_mpi "$lib"; then
  [ -f "$base_mpi" ] || { echo "check-abi: no MPI baseline $base_mpi (check-abi.sh --update on an MPI=1 build)"; exit 1; }
  check "$base_mpi" "the MPI part, include/disent_mpi.h" --suppressions abi/mpi-only.abignore
elif [ "$need_mpi" = 1 ]; then
  echo "check-abi: --mpi, but $lib has no MPI part (dsn_fit_mpi): build it with MPI=1"
  exit 1
else
  echo "check-abi: $lib has no MPI part: $base_mpi not checked"
fi

#!/usr/bin/env bash
# Data-parallel training over MPI (docs/scale-out.md), run by `make test-mpi`
# and scripts/check-all.sh:
#  1. dsn_fit_mpi on 1, 2 and 3 processes (3: uneven parts) against dsn_fit in
#     one process at the same global batch on as many shards (data_shards),
#     every model family, 50 steps: parameters within 1e-6 relative, the same
#     bits on every process, and the same bits again when each process is
#     given only its shard (which must hold exactly its rows);
#  2. bad input fails on every process with a message and a non-zero exit,
#     within a deadline (never a hang): options or data sizes that differ, a
#     batch too small to split, shards smaller than their part of the batch,
#     a process holding another's shard, processes that hang or die;
#  3. `mpirun -np 2 disent train` against `disent train` (tests/mpi/cli.sh).
# usage: tests/mpi/run.sh FIT_MPI_CHECK [DISENT]   (the two programs of a build)
set -euo pipefail
BIN=${1:?usage: tests/mpi/run.sh FIT_MPI_CHECK [DISENT]}
DISENT=${2:-}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe)
# OpenMPI itself leaks by LeakSanitizer's count: keep the other ASan checks
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# on one node P > 1 processes share their weights and gradients in memory;
# DSN_MPI_NO_SHM=1 takes the message ring that runs across nodes
for run in "1" "2" "3" "2 ring" "3 ring"; do
  set -- $run
  np=$1
  env=()
  [ "${2:-}" = ring ] && env=(-x DSN_MPI_NO_SHM=1)
  echo "-- mpirun -np $np${2:+ ($2)}: dsn_fit_mpi vs dsn_fit"
  if ! timeout 300 "${MPIRUN[@]}" "${env[@]}" -np "$np" "$BIN" equal >"$tmp/eq.log" 2>&1; then
    cat "$tmp/eq.log"; echo "FAIL: -np $np ${2:-} equal"; fail=1
  else
    grep 'P=' "$tmp/eq.log"
  fi
done

# mode, processes, expected message (extended regex, seen on every process
# that reports), exit status (3: all failed as expected; 4: process 1 exited
# and mpirun ended the job), deadline in seconds
bad() {
  local mode=$1 np=$2 msg=$3 want=$4 limit=$5 t0 rc
  t0=$(date +%s)
  set +e
  timeout "$((limit + 30))" "${MPIRUN[@]}" -np "$np" "$BIN" "$mode" >"$tmp/$mode.log" 2>&1
  rc=$?
  set -e
  local took=$(( $(date +%s) - t0 ))
  local seen
  seen=$(grep -cE "$msg" "$tmp/$mode.log" || true)
  if [ "$rc" -ne "$want" ] || [ "$took" -gt "$limit" ] || [ "$seen" -lt "$6" ]; then
    cat "$tmp/$mode.log"
    echo "FAIL: $mode: exit $rc (want $want), ${took} s (limit $limit), message on $seen processes (want $6)"
    fail=1
  else
    echo "-- $mode: exit $rc in ${took} s; $(grep -E "$msg" "$tmp/$mode.log" | head -1 | sed 's/^fit_mpi_check\[[0-9]*\]: //')"
  fi
}
bad options 2 'processes disagree: the model family and options of process 1' 3 60 2
bad data 3 'processes disagree: process 1 has training rows 59, process 0 has 60' 3 60 3
bad batch 3 'a global batch of 2 items cannot be split over 3 processes' 3 60 3
bad small 2 "process 0's shard holds 4 groups, fewer than its part of every global batch \(5 groups\)" 3 60 2
bad shard-data 3 'processes disagree: process 1 has training rows 59, process 0 has 60' 3 60 3
bad shard-swap 2 'process 1 holds shard 0 of 2: process r of 2 must hold shard r of 2' 3 60 2
bad hang 2 'not every process joined the start of training within 2 s' 3 30 1
bad hang-mid 2 'process 1 did not answer within 2 s during the gradient sum' 3 30 1
bad die 2 'exiting before training' 4 30 1
bad die-mid 2 'exiting at step 10' 4 30 1

if [ -n "$DISENT" ]; then
  "$(dirname "$0")/cli.sh" "$DISENT" || fail=1
fi
[ "$fail" -eq 0 ] && echo "tests/mpi: all passed"
exit "$fail"

#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz: first replays its corpus
# (tests/fuzz/corpus/<name>), then fuzzes for SECONDS seconds (new inputs go
# to a scratch folder, not into the tree). Exits non-zero on the first crash,
# sanitizer report, leak or timeout; the reproducer is left in $OUT/crashes.
#   scripts/fuzz-run.sh FUZZ_BIN_DIR [SECONDS] [harness ...]
# (FUZZ_BIN_DIR is where `make fuzz` put the programs: $FUZZ_BUILD/fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
secs=${2:-10}
shift 2 || shift $#
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in $(scripts/list-sources.sh fuzz); do names+=("$(basename "$f" .c)"); done
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/dsn-fuzz-run.XXXXXX")
mkdir -p "$out/crashes"
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1
for n in "${names[@]}"; do
  corpus=tests/fuzz/corpus/${n#fuzz_}
  [ -d "$corpus" ] || { echo "no corpus $corpus"; exit 1; }
  mkdir -p "$out/$n"
  printf '%-14s ' "$n"
  if ! "$bin/$n" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$n-" "$out/$n" "$corpus" >"$out/$n.log" 2>&1; then
    echo "FAILED"; tail -60 "$out/$n.log"; echo "reproducer(s): $(ls "$out/crashes")"; exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n.log")
  cov=$(grep -o 'cov: [0-9]*' "$out/$n.log" | tail -1)
  echo "ok: $(ls "$corpus" | wc -l) corpus inputs replayed, $execs executions, $cov"
done
rm -rf "$out"

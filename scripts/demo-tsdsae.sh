#!/bin/sh
# demo-tsdsae.sh - the TS-DSAE instrument swap, end to end:
#   1. render dMelodies (C4 major, TS-DSAE rhythms) with violin (GM 40) and
#      trumpet (GM 56), every melody by both instruments (skipped if present);
#   2. compute the log-mel dataset (reference settings, one window per clip;
#      a feature cache makes later runs fast);
#   3. train TS-DSAE, print the three swap macro-F1 scores (pre-swap,
#      post-global-swap, post-local-swap) and the pitch check, and write the
#      source, partner and swapped clips as WAV plus swaps.png.
#
#   scripts/demo-tsdsae.sh [extra tsdsae_dmelodies options, e.g. --epochs 100]
#
# Environment: BUILD (build), DATA (data/tsdsae/dmel), OUT (data/tsdsae/out),
# COUNT (clips, 3000), MODEL_OPTS (model options, e.g. config=paper for the
# reference model; empty: the library defaults, the same as `disent train`
# and Python), THREADS (OpenBLAS threads, 2; 1 is faster on a busy 2-core
# machine), SKIP_BUILD (set: use the binaries already in BUILD). The schedule
# (epochs, TS-DSAE's constrained stage, batch, lr) is the library's default
# unless extra options set it. Results and commands: docs/tsdsae.md.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
DATA=${DATA:-data/tsdsae/dmel}
OUT=${OUT:-data/tsdsae/out}
COUNT=${COUNT:-3000}
MODEL_OPTS=${MODEL_OPTS:-}
THREADS=${THREADS:-2}

start=$(date +%s)
if [ -z "${SKIP_BUILD:-}" ]; then
    make -s -j2 BUILD="$BUILD" "$BUILD/tools/dmelodies" "$BUILD/tools/features" "$BUILD/examples/tsdsae_dmelodies"
fi

if [ ! -f "$DATA/factors.csv" ] || [ "$(($(wc -l < "$DATA/factors.csv") - 1))" -ne "$COUNT" ]; then
    echo "== rendering $COUNT dMelodies clips into $DATA"
    mkdir -p "$DATA"
    "$BUILD/tools/dmelodies" --count "$COUNT" --instruments 40,56 --subset C4major --ts-filter \
        --all-instruments --seed 1 --threads 2 --out "$DATA"
    rm -f "$DATA/set.dsa"
fi
if [ ! -f "$DATA/set.dsa" ] || [ "$DATA/factors.csv" -nt "$DATA/set.dsa" ]; then
    echo "== log-mel features -> $DATA/set.dsa"
    "$BUILD/tools/features" --manifest "$DATA/factors.csv" --cache "$DATA/feat.cache" \
        --out "$DATA/set.dsa" --threads 2
fi

echo "== training TS-DSAE (the library's default schedule)"
set -- --model ts-dsae --threads "$THREADS" --out "$OUT" --save "$OUT/ts-dsae.dsn" "$@"
mkdir -p "$OUT"
if [ -n "$MODEL_OPTS" ]; then set -- "$@" --model-opts "$MODEL_OPTS"; fi
"$BUILD/examples/tsdsae_dmelodies" "$DATA/set.dsa" "$@" | tee "$OUT/log.txt"

echo "== done in $(($(date +%s) - start)) s: listen to $OUT/pair*_*.wav, look at $OUT/swaps.png"

#!/bin/sh
# eval-devsets.sh - train one configuration on every development set of
# scripts/make-devsets.sh and measure it with `disent eval` (issue 15; the
# table of docs/tsdsae.md). Each set: disent train on DIR/SET/train.csv (10 %
# of it held out for dsn_fit's validation), then disent eval on
# DIR/SET/factors.csv (classifier on split=train, scored on split=valid).
#
#   scripts/eval-devsets.sh NAME [--set KEY=VALUE]...     (extra flags go to disent train)
#
# Environment: BUILD (build), DISENT (the program, $BUILD/tools/disent), DIR (data/devsets), OUT (data/devsets-runs),
# SETS (every set in DIR), MODEL (ts-dsae), THREADS (OpenBLAS threads, 1),
# PITCH_CLIPS (16). Writes OUT/NAME/SET.{dsn,train.log,eval.log} and prints one
# table row per set plus OUT/NAME/results.tsv; CPU seconds of training are
# the user + system time of the train process (/usr/bin/time).
set -eu
cd "$(dirname "$0")/.."
NAME=$1
shift
BUILD=${BUILD:-build}
DISENT=${DISENT:-$BUILD/tools/disent}
DIR=${DIR:-data/devsets}
OUT=${OUT:-data/devsets-runs}
MODEL=${MODEL:-ts-dsae}
THREADS=${THREADS:-1}
PITCH_CLIPS=${PITCH_CLIPS:-16}
SETS=${SETS:-$(cd "$DIR" && for d in */; do [ -f "$d/train.csv" ] && printf '%s ' "${d%/}"; done)}
mkdir -p "$OUT/$NAME"
res="$OUT/$NAME/results.tsv"
echo "set	cpu_s	f1_pre	f1_global	f1_local	mse_rec	ceiling	rpa_rec	rpa_global	rpa_local	mse_truth_global	mse_truth_source	ratio" > "$res"
for s in $SETS; do
    case $s in speech*) label=speaker ;; *) label=instrument ;; esac
    r="$OUT/$NAME/$s"
    OPENBLAS_NUM_THREADS=$THREADS /usr/bin/time -f "%U %S" -o "$r.time" \
        "$DISENT" train --model "$MODEL" --audio "$DIR/$s/train.csv" --set valid=0.1 \
        --set audio.cache="$DIR/$s/feat.cache" "$@" --out "$r.dsn" > "$r.train.log" 2>&1 ||
        { echo "eval-devsets: training on $s failed, see $r.train.log" >&2; exit 1; }
    OPENBLAS_NUM_THREADS=$THREADS "$DISENT" eval "$r.dsn" --swaps "$DIR/$s/factors.csv" --label $label \
        --set cache="$DIR/$s/feat.cache" --set pitch_clips="$PITCH_CLIPS" > "$r.eval.log" 2>&1 ||
        { echo "eval-devsets: evaluating $s failed, see $r.eval.log" >&2; exit 1; }
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$r.time")
    awk -v s="$s" -v cpu="$cpu" '/^RESULT/ {v[$2] = $3}
        END {printf "%s\t%s\t%.3f\t%.3f\t%.3f\t%.2f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t%.3f\n", s, cpu, v["f1_pre"],
             v["f1_global"], v["f1_local"], v["mse_rec"], v["rpa_ceiling"], v["rpa_rec"], v["rpa_global"],
             v["rpa_local"], v["mse_truth_global"], v["mse_truth_source"], v["transfer_ratio"]}' "$r.eval.log" >> "$res"
    tail -1 "$res"
done
column -t "$res" 2>/dev/null || cat "$res"

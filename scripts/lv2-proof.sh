#!/bin/sh
# lv2-proof.sh - the disent-swap LV2 plugin in a real host (docs/plugin.md):
#   1. a bundle with the plugin and a streaming model whose timbre bank holds
#      the mean v of reference clips of each instrument (disent bank);
#   2. N clips of each instrument, resampled to 48 kHz, rendered through the
#      plugin by lv2apply (lilv's command-line host) with the other
#      instrument's timbre;
#   3. scored like an offline swap (examples/stream_eval.c): the fraction of
#      output windows classified as the target instrument and the raw pitch
#      accuracy against the rendered truth, next to the offline swap
#      (dec(z, v_target) + Griffin-Lim) of the same clips;
#   4. timed by lv2bench (256-sample blocks, 60 s at 48 kHz) and bench_stream.
#
# Environment: BUILD (build), MODEL (data/stream/run/stream.dsn: a TS-DSAE in
# a streaming configuration, docs/plugin.md), DATA (data/stream/dmel: the
# dMelodies clips and factors.csv it was trained on), OUT (data/stream/proof),
# N (10 clips per instrument), FFT (512), HOP (128), SKIP_BUILD.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MODEL=${MODEL:-data/stream/run/stream.dsn}
DATA=${DATA:-data/stream/dmel}
OUT=${OUT:-data/stream/proof}
N=${N:-10}
FFT=${FFT:-512}
HOP=${HOP:-128}
URI=urn:libdisent:swap
command -v lv2apply >/dev/null || { echo "lv2-proof: lv2apply not found (Debian lilv-utils)" >&2; exit 1; }
[ -n "${SKIP_BUILD:-}" ] || make -s -j2 BUILD="$BUILD" lv2 "$BUILD/examples/stream_eval" "$BUILD/tools/disent" "$BUILD/bench/bench_stream"
D=$BUILD/tools/disent
E=$BUILD/examples/stream_eval
B=$OUT/lv2/disent-swap.lv2
rm -rf "$OUT" && mkdir -p "$B" "$OUT/wav"
OUT=$(cd "$OUT" && pwd) # lilv wants an absolute LV2_PATH
B=$OUT/lv2/disent-swap.lv2
cp "$BUILD/examples/lv2/disent-swap.lv2/"* "$B/"

# the instrument (GM program) of manifest row i (0-based), and its file
inst() { awk -F, -v r="$(( $1 + 2 ))" 'NR == 1 { for (c = 1; c <= NF; c++) if ($c == "instrument") k = c } NR == r { print $k }' "$DATA/factors.csv"; }
clip() { awk -F, -v r="$(( $1 + 2 ))" 'NR == r { print $1 }' "$DATA/factors.csv"; }

# 1. the bank: rows 400..439 (20 clips of each instrument), named by instrument
a=""; b=""
for i in $(seq 400 439); do
  if [ "$(inst "$i")" = 40 ]; then a="$a $DATA/$(clip "$i")"; else b="$b $DATA/$(clip "$i")"; fi
done
# shellcheck disable=SC2086
"$D" bank "$MODEL" $a --name 40 --n-fft "$FFT" --hop-length "$HOP" --out "$B/model.dsn"
# shellcheck disable=SC2086
"$D" bank "$B/model.dsn" $b --name 56 --n-fft "$FFT" --hop-length "$HOP"
"$D" bank "$B/model.dsn" --list
L=$("$E" latency "$B/model.dsn" 48000)
echo "== latency at 48 kHz: $L samples"

# 2. render: rows 1000.. in melody pairs (row 2k and 2k+1: one melody, both instruments)
echo "rendered,source,truth,target" > "$OUT/list.csv"
t0=$(date +%s)
for k in $(seq 0 $(( N - 1 ))); do
  for s in 0 1; do
    src=$(( 1000 + 2 * k + s )); tru=$(( 1000 + 2 * k + 1 - s ))
    target=$([ "$(inst "$tru")" = 40 ] && echo 0 || echo 1)
    "$E" resample "$DATA/$(clip "$src")" "$OUT/wav/in_$src.wav" 48000
    LV2_PATH="$OUT/lv2" lv2apply -i "$OUT/wav/in_$src.wav" -o "$OUT/wav/out_$src.wav" -c timbre "$target" "$URI" \
        2> "$OUT/wav/log_$src.txt"
    echo "$OUT/wav/out_$src.wav,$DATA/$(clip "$src"),$DATA/$(clip "$tru"),$target" >> "$OUT/list.csv"
  done
done
echo "== rendered $(( 2 * N )) clips with lv2apply in $(( $(date +%s) - t0 )) s"
# a bypass render: the input delayed by exactly the latency
LV2_PATH="$OUT/lv2" lv2apply -i "$OUT/wav/in_1000.wav" -o "$OUT/wav/bypass_1000.wav" -c bypass 1 "$URI" 2>/dev/null

# 3. score
"$E" score "$B/model.dsn" "$OUT/list.csv" --manifest "$DATA/factors.csv" --latency "$L" | tee "$OUT/score.txt"

# 4. timing: 60 s at 48 kHz in 256-sample blocks
echo "== lv2bench -b 256 -n 2880000 (60 s at 48 kHz)"
# lv2bench reports wall time; on a loaded machine the process's CPU time
# (user + system, including lilv's world loading and the model load) says more
LV2_PATH="$OUT/lv2" /usr/bin/python3 -c '
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(out.strip())
print("cpu %.3f" % (r.ru_utime + r.ru_stime))' lv2bench -b 256 -n 2880000 "$URI" | tee "$OUT/lv2bench.txt"
awk '$2 == "'"$URI"'" { w = $1 } $1 == "cpu" { c = $2 }
  END { printf "RESULT lv2bench_wall_seconds %.3f\nRESULT lv2bench_cpu_seconds %.3f\n", w, c
        printf "RESULT lv2bench_block_cost_percent_wall %.2f\nRESULT lv2bench_block_cost_percent_cpu %.2f\n", 100 * w / 60, 100 * c / 60 }' \
    "$OUT/lv2bench.txt" | tee -a "$OUT/score.txt"
uptime | tee -a "$OUT/score.txt"
"$BUILD/bench/bench_stream" "$B/model.dsn" --seconds 60 | tee "$OUT/bench_stream.txt"

#!/bin/sh
# make-devsets.sh - the development sets of issue 15 (docs/tsdsae.md), built
# reproducibly from a seed: four instrument pairs from two Debian GM
# soundfonts (every melody rendered by both instruments: the rendered truth of
# a global swap; all keys, octaves 4-6 and the three scales, the TS-DSAE
# rhythms) and one speech set (espeak-ng voices saying the same sentences).
#
#   scripts/make-devsets.sh [DIR (data/devsets)]
#
# Environment: BUILD (build), CLIPS (clips per music set, 400 = 200 melodies x
# 2 instruments), SENTENCES (speech sentences, 100; x 4 voices), SEED (1),
# SKIP_BUILD. Each set DIR/NAME/ gets clip_*.wav and factors.csv (columns of
# tools/dmelodies or scripts/make-speech-set.py, with a `split` column), and
# train.csv / valid.csv holding the rows of each split;
# features are computed by the programs that read them (a cache next to the
# manifest makes the second read fast).
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-data/devsets}
BUILD=${BUILD:-build}
CLIPS=${CLIPS:-400}
SENTENCES=${SENTENCES:-100}
SEED=${SEED:-1}
TIM=/usr/share/sounds/sf2/TimGM6mb.sf2
MSC=/usr/share/sounds/sf3/MuseScore_General_Lite.sf3
for f in "$TIM" "$MSC"; do
    [ -f "$f" ] || { echo "make-devsets: $f missing (scripts/setup-deps.sh)" >&2; exit 1; }
done
command -v espeak-ng >/dev/null || { echo "make-devsets: espeak-ng missing (scripts/setup-deps.sh)" >&2; exit 1; }
[ -n "${SKIP_BUILD:-}" ] || make -s -j2 BUILD="$BUILD" "$BUILD/tools/dmelodies"
mkdir -p "$DIR"

# name soundfont instruments (GM programs) seed offset
music() {
    echo "== $1: GM $3 from $(basename "$2")"
    "$BUILD/tools/dmelodies" --count "$CLIPS" --instruments "$3" --subset all --ts-filter --all-instruments \
        --soundfont "$2" --seed "$((SEED + $4))" --threads 2 --out "$DIR/$1" --quiet
}
music tim-flute-sax "$TIM" 73,65 0       # flute / alto sax
music tim-cello-oboe "$TIM" 42,68 1      # cello / oboe
music msc-piano-organ "$MSC" 0,19 2      # acoustic grand piano / church organ
music msc-clarinet-strings "$MSC" 71,48 3 # clarinet / string ensemble
echo "== speech: 4 espeak-ng voices x $SENTENCES sentences"
/usr/bin/python3 scripts/make-speech-set.py --out "$DIR/speech4" --sentences "$SENTENCES" --seed "$SEED"
# train.csv / valid.csv next to each factors.csv: the rows of one split, for
# `disent train --audio DIR/NAME/train.csv` (paths stay relative to the folder)
for d in "$DIR"/*/; do
    [ -f "$d/factors.csv" ] || continue
    /usr/bin/python3 - "$d" <<'PY'
import csv, sys
d = sys.argv[1]
rows = list(csv.reader(open(d + "/factors.csv", newline="")))
k = rows[0].index("split")
for name in ("train", "valid"):
    with open(d + "/" + name + ".csv", "w", newline="") as f:
        csv.writer(f).writerows([rows[0]] + [r for r in rows[1:] if r[k] == name])
PY
done
echo "make-devsets: done in $DIR"

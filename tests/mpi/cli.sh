#!/usr/bin/env bash
# cli.sh DISENT - `mpirun -np N disent train` for every model family against
# `disent train --set data_shards=N` in one process at the same global batch
# (each process trains on its shard, as the N shards of one process do): the
# log names the world size, the global batch and the shards' sizes, process 0
# alone writes the model, and the
# encodings of the two models agree (1e-5); a resumed run continues on every
# process; a model option that differs between processes fails everywhere.
set -u
D=${1:?usage: cli.sh path/to/disent}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh" # scratch_dir, fail, run, has and the data makers
scratch_dir disent-mpi D
RUN_TIMEOUT=300
MPIRUN="mpirun --allow-run-as-root --oversubscribe"
# close A_DIR B_DIR: every .npy of A equals B's within 1e-5 (relative to max |a|, 1)
close() {
  /usr/bin/python3 - "$1" "$2" <<'PY' || fail "encodings of $1 and $2 differ"
import sys, glob, os, numpy as np
worst = 0.0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.npy"))):
    a = np.load(f); b = np.load(os.path.join(sys.argv[2], os.path.basename(f)))
    worst = max(worst, float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a))))))
print("  encodings differ by at most %.2e" % worst)
sys.exit(0 if worst <= 1e-5 else 1)
PY
}

make_data "$T" 256
make_seq "$T" 48
make_img8 "$T" 96
ML="--model ml-vae --npy x.npy --labels y.npy --set input_dim=16 --set hidden=32 --set style_dim=2
    --set content_dim=2 --set batch_groups=4 --set group_size=8 --set steps_per_epoch=10 --set epochs=2 --set lr=0.003"
SEQ="--npy s.npy --set frames=8 --set n_mels=6 --set v_dim=2 --set z_dim=2 --set hidden=8 --set dec_hidden=8
    --set prior_hidden=4 --set prior_layers=1 --set epochs=2 --set steps_per_epoch=10 --set batch_size=12"
VQ="--model vq-vae --npy img.npy --set height=8 --set width=8 --set hidden=16 --set res_blocks=1 --set res_channels=8
    --set code_dim=4 --set num_codes=16 --set prior_channels=8 --set prior_layers=2 --set prior_hidden=16
    --set likelihood=bernoulli --set codebook_update=ema --set epochs=2 --set batch_size=12 --set lr=0.003"
TS="--model ts-dsae $SEQ --set constrained_epochs=1 --set swap_vg=0 --set swap_zg=0 --set swap_vl=0 --set swap_zl=0"

# name, np, training flags, data flags for encode
check() {
  name=$1; np=$2; flags=$3; data=$4
  run 0 "$D" train $flags --set data_shards="$np" --out "$name.1.dsn" --quiet
  run 0 $MPIRUN -np "$np" "$D" train $flags --out "$name.$np.dsn"
  has err.txt "data-parallel over $np MPI processes (world size $np): global batch"
  has err.txt "observations in $np shards, one per process"
  has err.txt "process 0 read its [0-9]* observations from the file"
  has out.txt "data-parallel: $np processes; gradient all-reduce"
  [ "$(grep -c '^trained' out.txt)" -eq 1 ] || fail "$name: more than one process reported"
  log=$(grep 'global batch' err.txt | sed 's/.*: global/global/')
  shards=$(grep 'shards, one per process' err.txt | sed 's/.*one per process (\(.*\)): /\1: /')
  run 0 "$D" encode "$name.1.dsn" $data --index 0-7 --out "e1.$name.$np"
  run 0 "$D" encode "$name.$np.dsn" $data --index 0-7 --out "e$np.$name"
  close "e1.$name.$np" "e$np.$name"
  echo "ok - $name: mpirun -np $np disent train = disent train --set data_shards=$np ($log; shards: $shards)"
}
check ml-vae 2 "$ML" "--npy x.npy --labels y.npy"
check ml-vae 3 "$ML" "--npy x.npy --labels y.npy"
check ml-vae-valid 2 "$ML --set valid=0.25" "--npy x.npy --labels y.npy"
check dsae 3 "--model dsae $SEQ" "--npy s.npy"
check ts-dsae 2 "$TS" "--npy s.npy"
check vq-vae 2 "$VQ" "--npy img.npy"

# MNIST-style IDX files (96 images of 28 x 28, labels 0-5): each process
# reads only its shard's images
mkdir -p mn
/usr/bin/python3 - mn <<'PY'
import sys, struct, random
r = random.Random(5)
n = 96
with open(sys.argv[1] + "/train-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 28, 28))
    f.write(bytes(r.choice((0, 255)) for _ in range(n * 784)))
with open(sys.argv[1] + "/train-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 0x801, n))
    f.write(bytes(i % 6 for i in range(n)))
PY
MN="--model ml-vae --mnist mn --set encoder=mlp --set hidden=16 --set style_dim=2 --set content_dim=2
    --set batch_groups=4 --set group_size=4 --set steps_per_epoch=5 --set epochs=1"
check ml-vae-mnist 2 "$MN" "--mnist mn"

# resume on every process from process 0's checkpoint: = an uninterrupted run
run 0 $MPIRUN -np 2 "$D" train $ML --set epochs=1 --out r.dsn --checkpoint r.ckpt --quiet
run 0 $MPIRUN -np 2 "$D" train $ML --resume r.ckpt --out r.dsn --checkpoint r.ckpt --quiet
run 0 "$D" encode r.dsn --npy x.npy --labels y.npy --index 0-7 --out er
close e1.ml-vae.2 er
echo "ok - ml-vae: a 2-process run resumed from its checkpoint = one uninterrupted process (2 shards)"

# a model option that differs between processes: every process fails, no hang
cat > bad.sh <<SH
#!/bin/sh
extra=""
[ "\${OMPI_COMM_WORLD_RANK:-0}" = 1 ] && extra="--set hidden=33"
exec "$D" train $(echo $ML) \$extra --out bad.dsn --quiet
SH
chmod +x bad.sh
run 1 $MPIRUN -np 2 ./bad.sh
[ "$(grep -c 'processes disagree: the model family and options of process 1' err.txt)" -eq 2 ] ||
  fail "the mismatch is not reported by both processes"
echo "ok - a model option that differs between processes: both report it, exit 1"

# a shard smaller than its part of every batch (4 groups, batches of 5 over 2
# processes: parts of 2 and 3 groups, shards of 1 and 3): both report it, exit 1
run 1 $MPIRUN -np 2 "$D" train $ML --set batch_groups=5 --out small.dsn --quiet
[ "$(grep -c "process 0's shard holds 1 groups, fewer than its part of every global batch (2 groups)" err.txt)" -eq 2 ] ||
  fail "the small shard is not reported by both processes"
echo "ok - a shard smaller than its part of the batch: both processes report it, exit 1"

#!/bin/sh
# test_cli.sh DISENT - end-to-end tests of the `disent` command-line program on a
# tiny synthetic image set (4x4 pictures, 4 classes): train, info, encode,
# decode, swap, exact resume, Ctrl-C checkpointing, bad arguments and damaged
# files; a tiny VQ-VAE (8x8 pictures): train-prior, sample, codes in encode and
# decode; a tiny DSAE on synthetic WAV files: audio files in, WAVs out.
# Runs in a few seconds; exits non-zero on the first failure.
set -u
D=${1:?usage: test_cli.sh path/to/disent}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh" # scratch_dir, fail, run, has and the data makers
scratch_dir disent-cli D
n_ok=0
ok() { n_ok=$((n_ok + 1)); echo "ok $n_ok - $*"; }
npy_shape() { head -c 128 "$1" | LC_ALL=C tr -d '\000' | LC_ALL=C sed -n "s/.*'shape': \(([^)]*)\).*/\1/p"; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1 is not a PNG"; }
# png_info FILE: "WIDTH HEIGHT COLOUR_TYPE" from the IHDR chunk (2 = RGB, 0 = grey)
png_info() { head -c 26 "$1" | od -An -tu1 -j16 | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8, $10}'; }

make_data "$T" 256
cat > opts.conf <<'CONF'
# a tiny ML-VAE: 4x4 binary pictures
model = ml-vae
input_dim = 16
hidden = 32
style_dim = 2
content_dim = 2
batch_groups = 4
group_size = 8
steps_per_epoch = 20
epochs = 3
lr = 0.003
CONF
DATA="--npy x.npy --labels y.npy"

# ---- help and usage
run 0 "$D" help; has out.txt "train"; has out.txt "swap"
for c in train encode swap decode info train-prior sample plot; do
  run 0 "$D" "$c" --help; has out.txt "usage: disent $c"
done
run 0 "$D" help swap; has out.txt "usage: disent swap"
ok "help for every subcommand"

# ---- train: options file, --set overrides it
run 0 "$D" train opts.conf $DATA --set epochs=2 --out m.dsn --quiet
has out.txt "trained 40 steps"
[ -s m.dsn ] && [ -s m.dsn.ckpt ] || fail "no model or checkpoint"
run 0 "$D" train opts.conf $DATA --out plain.dsn
has err.txt "epoch 3/3 done"
ok "train from an options file with --set overrides; plain progress lines"

# ---- the training log (--log DIR) and disent plot; non-TTY: every epoch line
run 0 "$D" train opts.conf $DATA --set epochs=4 --set steps_per_epoch=3 --set valid=0.25 --out lg.dsn --log lg
[ "$(grep -c '^epoch [1-4]/4 done' err.txt)" -eq 4 ] || fail "not one progress line per epoch"
[ "$(grep -c '"event":"step"' lg/train.jsonl)" -eq 12 ] || fail "not 12 step records"
[ "$(grep -c '"event":"epoch".*"valid_loss":' lg/train.jsonl)" -eq 4 ] || fail "not 4 epoch records"
head -n 1 lg/train.jsonl | grep -q '^{"event":"start".*"family":"ml-vae"' || fail "no start record"
tail -n 1 lg/train.jsonl | grep -q '^{"event":"end".*"status":"ok"' || fail "no end record"
head -n 1 lg/train.csv | grep -qx 'event,epoch,step,time,stage,lr,name,value' || fail "CSV header"
grep -q '^step,4,12,' lg/train.csv || fail "no CSV row of step 12"
run 0 "$D" train opts.conf $DATA --set epochs=6 --set steps_per_epoch=3 --resume lg.dsn.ckpt --out lg.dsn --log lg
[ "$(grep -c '"event":"step"' lg/train.jsonl)" -eq 18 ] || fail "--resume did not append to the log"
run 0 "$D" plot lg/train.jsonl -o lg/curves.png --width 600 --height 400
has out.txt "wrote lg/curves.png (600 x 400): 18 steps, 6 epochs"
is_png lg/curves.png
[ "$(head -c 24 lg/curves.png | od -An -tu1 -j16 | tr -s ' ' | sed 's/^ //')" = "0 0 2 88 0 0 1 144" ] || fail "PNG size"
[ "$(wc -c < lg/curves.png)" -gt 720000 ] || fail "PNG too small"
run 1 "$D" train opts.conf $DATA --set epochs=1 --out lg2.dsn --log /proc/no-such-dir
has err.txt "disent: cannot create folder"
mkdir -p ro/train.jsonl   # a folder where the log file should be: unwritable, also for root
run 1 "$D" train opts.conf $DATA --set epochs=1 --out lg2.dsn --log ro
has err.txt "cannot open the training log 'ro/train.jsonl'"; [ ! -e lg2.dsn.ckpt ] || fail "trained with an unwritable log"
printf '{"event":"start"}\nnot json\n' > bad.jsonl
run 1 "$D" plot bad.jsonl -o bad.png; has err.txt "bad.jsonl:2: not a record"
run 1 "$D" plot lg/train.jsonl --terms nope -o x.png; has err.txt "none of the terms 'nope'"
run 2 "$D" plot; has err.txt "give the training log"
ok "train --log DIR: JSONL + CSV of every step and epoch, appended on --resume; plot draws a PNG; bad logs fail"

# ---- info
run 0 "$D" info m.dsn
has out.txt "family: *ml-vae"; has out.txt "content *scope group *dim 2"; has out.txt "style *scope item *dim 2"
has out.txt "observation: \[16\]"; has out.txt "checkpoint: *no"; has out.txt "parameters: *[1-9]"
run 0 "$D" info m.dsn.ckpt; has out.txt "checkpoint: *yes (optimizer state after 40 updates"
ok "info on a model and a checkpoint"

# ---- encode
run 0 "$D" encode m.dsn $DATA --index 0-9 --fields value,logvar --out enc
for f in content style content.logvar style.logvar; do [ -s "enc/$f.npy" ] || fail "no enc/$f.npy"; done
[ "$(npy_shape enc/content.npy)" = "(10, 2)" ] || fail "content shape $(npy_shape enc/content.npy)"
[ "$(npy_shape enc/groups.npy)" = "(10,)" ] || fail "groups shape"
[ -s enc/labels.npy ] && [ -s enc/index.npy ] || fail "no labels/index"
run 0 "$D" encode m.dsn $DATA --group-by-label --out encg
[ "$(npy_shape encg/content.npy)" = "(4, 2)" ] || fail "grouped content shape $(npy_shape encg/content.npy)"
[ "$(npy_shape encg/style.npy)" = "(256, 2)" ] || fail "grouped style shape"
ok "encode: one .npy per part and field; --group-by-label accumulates content per label"

# ---- decode
run 0 "$D" decode m.dsn --in enc --out dec
[ "$(npy_shape dec/decoded.npy)" = "(10, 16)" ] || fail "decoded shape $(npy_shape dec/decoded.npy)"
is_png dec/decoded.png
run 0 "$D" decode m.dsn --in encg --out decg
[ "$(npy_shape decg/decoded.npy)" = "(256, 16)" ] || fail "grouped decoded shape"
mkdir -p only && cp enc/style.npy only/
run 0 "$D" decode m.dsn --in only --out deco; has err.txt "part 'content' set to zeros"
ok "decode: .npy and PNG; a missing part is zeros"

# ---- swap
run 0 "$D" swap m.dsn --part content $DATA --a 0-3 --b 4-9 --out sw
[ "$(npy_shape sw/swap.npy)" = "(4, 6, 16)" ] || fail "swap shape $(npy_shape sw/swap.npy)"
is_png sw/swap.png
has out.txt "rows: 'content' of A"
has out.txt "swap scores (re-encoded): content from row [01]\.[0-9]* (chance 0\.250), style from column [01]\.[0-9]* (chance 0\.167)"
run 0 "$D" swap m.dsn --part style --a-file x.npy --a 0,1 --b-file x.npy --b 2 --out sw2
[ "$(npy_shape sw2/swap.npy)" = "(2, 1, 16)" ] || fail "swap from files"
ok "swap: grid .npy and PNG, from dataset rows and from files"

# ---- ml-vae on pictures [N, H, W]: the convolutional encoder and the image defaults
{ npy_header '|u1' "(256, 4, 4)"; tail -c 4096 x.npy; } > x44.npy
run 0 "$D" train --model ml-vae --npy x44.npy --labels y.npy --set epochs=1 --set steps_per_epoch=2 \
    --set batch_groups=4 --set group_size=8 --set style_dim=2 --set content_dim=2 --out conv.dsn
has err.txt "image = 4x4: the convolutional encoder"
run 0 "$D" info conv.dsn; has out.txt "observation: \[1, 4, 4\]"; has out.txt "encoder=auto"; has out.txt "group_penalty=10"
run 0 "$D" swap conv.dsn --part content --npy x44.npy --labels y.npy --a 0-3 --b 4-6 --out swc --title "a title"
is_png swc/swap.png
ok "ml-vae on [N, H, W] pictures: image = HxW and the conv defaults; labelled swap grid"

# ---- a sequence model ([T, D] observations): the same commands, spectrogram pictures
make_seq "$T" 24
run 0 "$D" train --model dsae --npy s.npy --labels sy.npy --set frames=8 --set n_mels=6 --set v_dim=2 \
    --set z_dim=2 --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 \
    --set epochs=1 --set steps_per_epoch=2 --set batch_size=8 --out seq.dsn --quiet
run 0 "$D" info seq.dsn; has out.txt "observation: \[8, 6\]"
# TS-DSAE through dsn_fit's stage-aware keep_best: the validation loss of the
# full stage (informed prior, swap terms) never competes with the constrained
# stage's, so the model written is always a full-stage one
run 0 "$D" train --model ts-dsae --npy s.npy --set frames=8 --set n_mels=6 --set v_dim=2 --set z_dim=2 \
    --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 --set constrained_epochs=2 \
    --set epochs=4 --set steps_per_epoch=2 --set batch_size=8 --set valid=0.25 --set keep_best=1 --out ts.dsn --quiet
has out.txt "best validation epoch"
run 0 "$D" info ts.dsn; has out.txt "stage: *full"; has out.txt "epochs: *4"
run 0 "$D" encode seq.dsn --npy s.npy --index 0-3 --out sen
run 0 "$D" info seq.dsn
pf=$(sed -n 's/^  \([a-z_-]*\) *scope frame .*/\1/p' out.txt | head -1)
pi=$(sed -n 's/^  \([a-z_-]*\) *scope item .*/\1/p' out.txt | head -1)
[ -n "$pf" ] && [ -n "$pi" ] || fail "no frame- and item-scoped parts"
[ "$(npy_shape "sen/$pf.npy")" = "(32, 2)" ] || fail "frame part shape $(npy_shape "sen/$pf.npy")"
run 0 "$D" swap seq.dsn --part "$pi" --npy s.npy --a 0-2 --b 3,4 --out ssw
[ "$(npy_shape ssw/swap.npy)" = "(3, 2, 8, 6)" ] || fail "sequence swap shape $(npy_shape ssw/swap.npy)"
is_png ssw/swap.png
set -- $(png_info ssw/swap.png)   # the labelled colour figure: 4 rows x 3 columns of >= 160 x 96 cells
[ "$3" -eq 2 ] && [ "$1" -ge 640 ] && [ "$2" -ge 480 ] || fail "sequence swap figure $1 x $2, colour type $3"
run 0 "$D" decode seq.dsn --in sen --out sde
[ "$(npy_shape sde/decoded.npy)" = "(4, 8, 6)" ] || fail "sequence decode shape"
is_png sde/decoded.png
ok "sequence model: info, encode (frame rows), swap and decode with spectrogram PNGs"

# ---- VQ-VAE: two stages, codes, sampling
make_img8 "$T" 128
VQ="--set height=8 --set width=8 --set hidden=16 --set res_blocks=1 --set res_channels=8 --set code_dim=4
    --set num_codes=16 --set prior_channels=8 --set prior_layers=2 --set prior_hidden=16 --set likelihood=bernoulli"
run 0 "$D" train --model vq-vae --npy img.npy $VQ --set epochs=3 --set batch_size=32 --set lr=0.003 --out vq.dsn --quiet
run 0 "$D" info vq.dsn; has out.txt "stage: *autoencoder"; has out.txt "codes *scope position *dim 4"
has out.txt "epochs: *[0-9]"
run 0 "$D" train-prior vq.dsn --npy img.npy --epochs 2 --lr 0.003 --set batch_size=32 --set log_every=2 --out vqp.dsn
has err.txt "bits_per_code [0-9]"; has out.txt "prior: epochs .*bits_per_code [0-9.]* (last training step), [0-9.]* on the training data"
has out.txt "log2 K = 4.0000"
run 0 "$D" info vqp.dsn --npy img.npy; has out.txt "stage: *prior"; has out.txt "codebook.perplexity  *[0-9.]"
has out.txt "codebook.size  *16"; has out.txt "prior.bits_per_code  *[0-9.]"
run 0 "$D" train-prior vq.dsn --npy img.npy --epochs 1 --set batch_size=32 --set valid=0.25 --out vqv.dsn --quiet
has out.txt "on the validation set (32 observations)"
# the prior stage resumes exactly: 1 epoch + --resume 1 more == 2 epochs
run 0 "$D" train-prior vq.dsn --npy img.npy --epochs 1 --lr 0.003 --set batch_size=32 --out vqh.dsn --quiet
run 0 "$D" train-prior --resume vqh.dsn.ckpt --npy img.npy --epochs 1 --set batch_size=32 --out vqr.dsn --quiet
cmp -s vqp.dsn vqr.dsn || fail "resumed prior differs from the uninterrupted one"
# Ctrl-C in the prior stage: checkpoint, exit 130, the command to continue
"$D" train-prior vq.dsn --npy img.npy --epochs 1000000 --set batch_size=32 --out vqi.dsn >out.txt 2>err.txt &
pid=$!
i=0
while [ ! -s vqi.dsn.ckpt ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -s vqi.dsn.ckpt ] || { kill "$pid"; fail "no prior checkpoint after 30 s"; }
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ] || fail "train-prior: exit $rc after SIGINT (wanted 130)"
has err.txt "continue with: disent train-prior --resume vqi.dsn.ckpt --epochs [0-9]* --out vqi.dsn"
run 0 "$D" train-prior --resume vqi.dsn.ckpt --npy img.npy --epochs 1 --set batch_size=32 --out vqi.dsn --quiet
run 0 "$D" info vqi.dsn; has out.txt "stage: *prior"
run 2 "$D" train-prior --resume vq.dsn.ckpt --npy img.npy --out x.dsn; has err.txt "not a checkpoint of the prior stage"
run 1 "$D" train-prior m.dsn $DATA --out x.dsn; has err.txt "has no prior stage"
ok "vq-vae: train, train-prior (bits per code, validation, exact resume, Ctrl-C), info"

run 0 "$D" sample vqp.dsn -n 8 --seed 3 --out smp1; has out.txt "sampled 8 observations"
run 0 "$D" sample vqp.dsn -n 8 --seed 3 --out smp2
cmp -s smp1/samples.npy smp2/samples.npy && cmp -s smp1/codes.npy smp2/codes.npy || fail "same seed, different samples"
[ "$(npy_shape smp1/samples.npy)" = "(8, 1, 8, 8)" ] || fail "samples shape $(npy_shape smp1/samples.npy)"
[ "$(npy_shape smp1/codes.npy)" = "(8, 4)" ] || fail "sampled codes shape $(npy_shape smp1/codes.npy)"
head -c 64 smp1/codes.npy | grep -q "'<i4'" || fail "codes.npy is not int32"
is_png smp1/samples.png
run 0 "$D" sample vqp.dsn -n 8 --seed 3 --temperature 0 --out smp3
run 0 "$D" sample vqp.dsn -n 8 --seed 4 --temperature 0 --out smp4
cmp -s smp3/codes.npy smp4/codes.npy || fail "temperature 0 depends on the seed"
run 0 "$D" sample vqp.dsn -n 8 --seed 3 --top-k 1 --out smp5
cmp -s smp3/codes.npy smp5/codes.npy || fail "top-k 1 differs from temperature 0"
run 0 "$D" decode vqp.dsn --in smp1 --out smpd
cmp -s smpd/decoded.npy smp1/samples.npy || fail "decoding the sampled codes differs from the samples"
run 0 "$D" sample m.dsn --part style $DATA --index 0-3 --out mst
[ "$(npy_shape mst/samples.npy)" = "(4, 16)" ] || fail "ml-vae style samples shape"
run 2 "$D" sample m.dsn $DATA --out x; has err.txt "with --part"
run 1 "$D" sample m.dsn --temperature 0.5 --out x; has err.txt "temperature"
ok "sample: seeded (same seed, same files), temperature/top-k, decode of sampled codes, --part with data"

run 0 "$D" encode vqp.dsn --npy img.npy --index 0-9 --out venc
has out.txt "codes.codes \[10, 4\] (int32)"
[ "$(npy_shape venc/codes.npy)" = "(10, 4)" ] || fail "codes.npy shape $(npy_shape venc/codes.npy)"
head -c 64 venc/codes.npy | grep -q "'<i4'" || fail "encoded codes.npy is not int32"
[ "$(npy_shape venc/codes.value.npy)" = "(40, 4)" ] || fail "codes.value.npy shape"
run 0 "$D" decode vqp.dsn --in venc --out vdec
mkdir -p vc vv && cp venc/codes.npy vc/ && cp venc/codes.value.npy venc/groups.npy vv/
run 0 "$D" decode vqp.dsn --in vc --out vdc
run 0 "$D" decode vqp.dsn --in vv --out vdv
cmp -s vdec/decoded.npy vdc/decoded.npy || fail "decode from codes differs from decode of the encoding"
cmp -s vdec/decoded.npy vdv/decoded.npy || fail "decode from code vectors differs"
[ "$(npy_shape vdc/decoded.npy)" = "(10, 1, 8, 8)" ] || fail "decoded shape"
is_png vdc/decoded.png
cp venc/codes.npy vc/style.npy
run 1 "$D" decode m.dsn --in vc --out x; has err.txt "holds integers, but part 'style' has no codes"
ok "encode writes int32 codes [n, P]; decode from codes == decode from the encoding"

# ---- audio: a tiny DSAE on synthetic WAV files (8 kHz, square and saw waves)
mkdir -p wavs
make_wav wavs/a.wav 8000 100 40 square
make_wav wavs/b.wav 8000 160 25 saw
make_wav short.wav 8000 12 40 saw
AUD="--sample-rate 8000 --n-fft 256 --hop-length 64"
run 0 "$D" train --model dsae --audio wavs --set audio.sample_rate=8000 --set audio.n_fft=256 --set audio.hop_length=64 \
    --set audio.frames=16 --set audio.n_mels=16 --set frames=16 --set n_mels=16 --set v_dim=2 --set z_dim=2 \
    --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 --set epochs=2 --set batch_size=4 \
    --out aud.dsn --quiet
run 0 "$D" swap aud.dsn --part global --audio wavs/a.wav wavs/b.wav short.wav --a 0,2 --b 1 --out asw --wav $AUD
[ "$(npy_shape asw/swap.npy)" = "(2, 1, 16, 16)" ] || fail "audio swap shape $(npy_shape asw/swap.npy)"
has err.txt "63 frames, the model takes the first 16"
# (16 - 1) frames x hop 64 samples, 16-bit mono at 8000 Hz
for w in asw/swap_0_0.wav asw/swap_1_0.wav; do
  [ -f "$w" ] || fail "no $w"
  [ "$(head -c 4 "$w")" = RIFF ] && [ "$(head -c 16 "$w" | tail -c 8)" = "WAVEfmt " ] || fail "$w: not a WAV header"
  [ "$(head -c 28 "$w" | tail -c 4 | od -An -tu4 | tr -d ' ')" = 8000 ] || fail "$w: sample rate"
  [ "$(wc -c < "$w")" -eq $(( 44 + 2 * 15 * 64 )) ] || fail "$w: $(wc -c < "$w") bytes"
done
run 0 "$D" encode aud.dsn --audio wavs/a.wav short.wav $AUD --out aenc; has out.txt "padded clips masked"
[ "$(npy_shape aenc/local.npy)" = "(32, 2)" ] || fail "audio local shape"
run 0 "$D" decode aud.dsn --in aenc --out adec --wav $AUD
[ "$(wc -c < adec/decoded_1.wav)" -eq 1964 ] || fail "decoded WAV size"
run 0 "$D" sample aud.dsn -n 2 --seed 5 --out asmp --wav $AUD
[ -s asmp/sample_1.wav ] || fail "no sampled WAV"
run 2 "$D" swap m.dsn --part content $DATA --a 0 --b 1 --out x --wav; has err.txt "not \[frames, n_mels\]"
run 1 "$D" encode m.dsn --audio wavs/a.wav --out x; has err.txt "sequence models only"
run 1 "$D" encode aud.dsn --audio no-such.wav $AUD --out x; has err.txt "reading audio 'no-such.wav'"
ok "audio: swap/encode take WAV files (padded + masked), swap/decode/sample --wav write valid WAVs"

# ---- the model file keeps its audio front end: settings given once, at training
mkdir -p wavs2
make_wav wavs2/a.wav 8000 100 40 square
make_wav wavs2/b.wav 8000 160 25 saw
cp short.wav wavs2/c.wav
run 0 "$D" train --model dsae --audio wavs2 --set audio.sample_rate=8000 --set audio.n_fft=256 --set audio.hop_length=64 \
    --set audio.frames=16 --set audio.n_mels=16 --set v_dim=2 --set z_dim=2 \
    --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 --set epochs=1 --set batch_size=4 \
    --out fe.dsn --quiet
has err.txt "audio: 3 clips -> 9 windows of 16 frames (8000 Hz, n_fft 256, hop 64, 16 mels"
has err.txt "audio: 1 clips shorter than a window: one padded window each"
has err.txt "audio: 10 padded frames masked"
run 0 "$D" swap fe.dsn --part global --audio wavs/a.wav wavs/b.wav --a 0 --b 1 --out fsw --wav
[ "$(head -c 28 fsw/swap_0_0.wav | tail -c 4 | od -An -tu4 | tr -d ' ')" = 8000 ] || fail "front end: sample rate"
[ "$(wc -c < fsw/swap_0_0.wav)" -eq $(( 44 + 2 * 15 * 64 )) ] || fail "front end: hop"
run 0 "$D" info fe.dsn; has out.txt "audio:       sample_rate=8000 n_fft=256 hop_length=64"
run 2 "$D" swap fe.dsn --part global --audio wavs/a.wav wavs/b.wav --a 0 --b 1 --out fsw --n-fft 512
has err.txt "the model was trained with n_fft = 256"
# bad input at training time: a silent clip fails naming it, or is left out with a line in the log
/usr/bin/python3 -c "import wave; w = wave.open('wavs2/d.wav', 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(bytes(8000)); w.close()"
run 1 "$D" train --model dsae --audio wavs2 --set audio.sample_rate=8000 --set audio.n_fft=256 --set audio.hop_length=64 \
    --set audio.frames=16 --set audio.n_mels=16 --set v_dim=2 --set z_dim=2 --set epochs=1 --out bad.dsn --quiet
has err.txt "d.wav"; has err.txt "silent"
run 0 "$D" train --model dsae --audio wavs2 --set audio.sample_rate=8000 --set audio.n_fft=256 --set audio.hop_length=64 \
    --set audio.frames=16 --set audio.n_mels=16 --set audio.bad_clips=skip --set v_dim=2 --set z_dim=2 \
    --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 --set epochs=1 --set batch_size=4 \
    --out bad.dsn --quiet
has err.txt "audio: 1 silent or clipped clips left out (bad_clips=skip; 1 silent, 0 clipped)"
run 0 "$D" train --model dsae --audio wavs2 --set audio.sample_rate=8000 --set audio.n_fft=256 --set audio.hop_length=64 \
    --set audio.frames=16 --set audio.n_mels=16 --set audio.bad_clips=skip --set v_dim=2 --set z_dim=2 \
    --set hidden=8 --set dec_hidden=8 --set prior_hidden=4 --set prior_layers=1 --set epochs=1 --set batch_size=4 \
    --out bad.dsn --log blog --quiet
grep '"event":"data"' blog/train.jsonl | grep -q '"skipped_clips":1' || fail "no data record in train.jsonl"
grep '"event":"data"' blog/train.jsonl | grep -q '"front_end":"sample_rate=8000, n_fft=256, ' || fail "no front end in the data record"
run 0 "$D" plot blog/train.jsonl --out blog/plot.png
grep -q '^data,.*,skipped_clips,1' blog/train.csv || fail "no data rows in train.csv"
ok "audio front end: kept in the model file (swap needs no settings, a contradicting flag fails); silent clips named or skipped"

# ---- timbre banks: disent bank stores mean static latents, info lists them
run 0 "$D" bank aud.dsn wavs/a.wav --name square $AUD --out bank.dsn
has err.txt "timbre 'square' = mean global of 1 clip"
run 0 "$D" bank bank.dsn wavs/b.wav short.wav --name saw $AUD
run 0 "$D" info bank.dsn; has out.txt "timbres:     2"; has out.txt "1  saw"
run 0 "$D" bank bank.dsn --list; has out.txt "sample_rate=8000"; has out.txt "0  square"
run 0 "$D" bank bank.dsn --remove square
run 0 "$D" bank bank.dsn --list; has out.txt "0  saw"
run 1 "$D" bank bank.dsn --remove tuba; has err.txt "no timbre 'tuba'"
run 2 "$D" bank bank.dsn wavs/a.wav; has err.txt "--name NAME"
run 2 "$D" bank m.dsn wavs/a.wav --name x; has err.txt "not a sequence model"
ok "bank: add (mean over clips, with the audio settings), list, info, remove"

# ---- resume from an epoch boundary == uninterrupted
run 0 "$D" train opts.conf $DATA --set epochs=4 --out full.dsn --quiet
run 0 "$D" train opts.conf $DATA --set epochs=2 --out half.dsn --quiet
run 0 "$D" train $DATA --set epochs=4 --set steps_per_epoch=20 --set batch_groups=4 --set group_size=8 \
    --resume half.dsn.ckpt --out resumed.dsn --quiet
cmp -s full.dsn resumed.dsn || fail "resumed model differs from the uninterrupted one"
cmp -s full.dsn.ckpt resumed.dsn.ckpt || fail "resumed checkpoint differs from the uninterrupted one"
ok "2 epochs + --resume to 4 == 4 epochs (model and checkpoint files bitwise)"

# ---- Ctrl-C: a valid checkpoint, a message, exit status 130
"$D" train opts.conf $DATA --set epochs=1000000 --set checkpoint_every=1 --out int.dsn >out.txt 2>err.txt &
pid=$!
i=0
while [ ! -s int.dsn.ckpt ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -s int.dsn.ckpt ] || { kill "$pid"; fail "no checkpoint after 30 s"; }
sleep 0.3
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ] || fail "exit $rc after SIGINT (wanted 130)"
has err.txt "interrupted after"; has err.txt "checkpoint saved to int.dsn.ckpt"
[ ! -e int.dsn ] || fail "an interrupted run wrote the model file"
run 0 "$D" info int.dsn.ckpt; has out.txt "checkpoint: *yes"
run 0 "$D" train opts.conf $DATA --set epochs=1 --resume int.dsn.ckpt --out int.dsn --quiet
[ -s int.dsn ] || fail "resume after interrupt wrote no model"
ok "SIGINT saves a valid checkpoint and exits 130; it resumes"

# ---- eval --metrics: factor metrics of a model's parts, and of a latents file
run 0 "$D" eval m.dsn --metrics mig,dci --npy x.npy --factors y.npy --set trees=10
has out.txt "RESULT content_mig "; has out.txt "RESULT style_dci_informativeness "; has out.txt "content (256 x 2) against 1 factor"
run 0 "$D" encode m.dsn $DATA --out encall
run 0 "$D" eval --metrics all --latents encall/style.npy --factors y.npy --quiet --set trees=5
has out.txt "RESULT latents_explicitness "
run 2 "$D" eval --metrics mig --latents encall/style.npy; has err.txt "--factors"
run 1 "$D" eval --metrics nope --latents encall/style.npy --factors y.npy; has err.txt "unknown metric 'nope'"
run 0 "$D" eval --metrics --help; has out.txt "usage: disent eval --metrics"
ok "eval --metrics: a model's parts and a latents file, errors"
# the flags both eval modes share: --set, --quiet, MODEL; an unknown flag, a second MODEL
for mode in "--swaps s.csv --label c" "--metrics mig --factors y.npy --npy x.npy"; do
  run 2 "$D" eval m.dsn $mode --frobnicate; has err.txt "disent eval: unknown flag '--frobnicate'"
  run 2 "$D" eval m.dsn other.dsn $mode; has err.txt "disent eval: unexpected argument 'other.dsn'"
  run 2 "$D" eval m.dsn $mode --set; has err.txt "--set needs a value"
  run 1 "$D" eval m.dsn $mode --set "=x"; has err.txt "disent: --set: "
  run 0 "$D" eval --help $mode; has out.txt "usage: disent eval"
done
run 0 "$D" eval --metrics mig --factors y.npy --latents encall/style.npy --quiet --set trees=5
[ "$(grep -vc '^RESULT' out.txt)" -eq 0 ] || fail "eval --quiet printed more than RESULT lines"
run 2 "$D" eval --swaps s.csv --label c; has err.txt "no MODEL given"
ok "eval: the shared flags of both modes"

# ---- bad arguments and damaged files
run 2 "$D"; has err.txt "usage: disent"
run 2 "$D" frobnicate; has err.txt "no subcommand 'frobnicate'"
run 2 "$D" train $DATA --model ml-vae; has err.txt "--out"
run 2 "$D" train $DATA --out x.dsn; has err.txt "no model family"
run 2 "$D" train opts.conf $DATA --out x.dsn --bogus; has err.txt "unknown flag '--bogus'"
run 2 "$D" train opts.conf --out x.dsn; has err.txt "no data"
run 2 "$D" train opts.conf $DATA --set novalue --out x.dsn; has err.txt "KEY=VALUE"
run 1 "$D" train opts.conf $DATA --set bogus_key=1 --out x.dsn; has err.txt "disent: creating a ml-vae model: bad option: .*bogus_key"
run 1 "$D" train opts.conf $DATA --set model=no-such-model --out x.dsn; has err.txt "invalid argument: .*no-such-model"
run 1 "$D" train opts.conf $DATA --set epochs=0 --out x.dsn; has err.txt "bad option: .*epochs"
run 1 "$D" train opts.conf --npy missing.npy --out x.dsn; has err.txt "disent: reading 'missing.npy': "
run 1 "$D" train opts.conf --out x.dsn --npy x.npy --labels y.npy --set input_dim=9; has err.txt "disent: training: shape mismatch"
run 1 "$D" train no-such.conf $DATA --out x.dsn; has err.txt "disent: reading options file 'no-such.conf'"
run 2 "$D" encode m.dsn $DATA --index 0-999 --out e2; has err.txt "--index"
run 2 "$D" swap m.dsn --part nope $DATA --a 0 --b 1 --out s2; has err.txt "no part 'nope'"
run 2 "$D" decode m.dsn --out d2; has err.txt "--in"
run 2 "$D" swap m.dsn --part content $DATA --a 0 --b 1 --out s2 --image 3x3; has err.txt "16 floats"
head -c 200 m.dsn > trunc.dsn
run 1 "$D" info trunc.dsn; has err.txt "disent: loading 'trunc.dsn': bad file format: "
run 1 "$D" encode trunc.dsn $DATA --out e3; has err.txt "bad file format"
cp m.dsn flip.dsn; printf '\377' | dd of=flip.dsn bs=1 seek=300 conv=notrunc 2>/dev/null
run 1 "$D" info flip.dsn; has err.txt "bad file format"
run 1 "$D" info x.npy; has err.txt "bad file format"
run 1 "$D" info no-such.dsn; has err.txt "disent: loading 'no-such.dsn': input/output error"
ok "bad arguments exit 2, failures exit 1 with 'disent: <what>: <status>: <detail>'"

echo "cli tests: $n_ok passed"

# lib.sh - helpers shared by the CLI, example and MPI tests (sourced, POSIX sh + bash printf).

# absolute VAR...: each named variable's path made absolute (against $PWD)
absolute() {
  for abs_v; do
    eval "abs_p=\$$abs_v"
    case "$abs_p" in /*) ;; *) eval "$abs_v=\"\$PWD/\$abs_p\"" ;; esac
  done
}

# scratch_dir NAME [VAR...]: the named path variables made absolute, then a
# fresh folder T ($TMPDIR/NAME.XXXXXX), removed when the script exits,
# becomes the current folder
scratch_dir() {
  scratch_name=$1; shift
  absolute "$@"
  T=$(mktemp -d "${TMPDIR:-/tmp}/$scratch_name.XXXXXX") || exit 1
  trap 'rm -rf "$T"' EXIT
  cd "$T" || exit 1
}

# fail MSG: the message, the last run's stderr and stdout, exit 1
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat err.txt 2>/dev/null; echo "--- stdout:"; cat out.txt 2>/dev/null; exit 1; }
# run EXPECTED_RC CMD...: stdout -> out.txt, stderr -> err.txt; fails on another exit
# code. With RUN_TIMEOUT set (seconds), CMD runs under timeout.
run() {
  want=$1; shift
  if [ -n "${RUN_TIMEOUT:-}" ]; then timeout "$RUN_TIMEOUT" "$@" >out.txt 2>err.txt; else "$@" >out.txt 2>err.txt; fi
  rc=$?
  [ "$rc" -eq "$want" ] || fail "exit $rc (wanted $want): $*"
}
# has FILE TEXT: TEXT occurs in FILE
has() { grep -q -- "$2" "$1" || fail "'$2' not in $1"; }

# npy_header DESCR SHAPE: the .npy v1 header for e.g. '|u1' '(256, 16)', padded to 64 bytes
npy_header() {
  h="{'descr': '$1', 'fortran_order': False, 'shape': $2, }"
  len=$(( ${#h} + 1 ))
  pad=$(( (64 - (10 + len) % 64) % 64 ))
  len=$(( len + pad ))
  printf '\223NUMPY\001\000'
  printf "\\$(printf %03o $(( len % 256 )))\\$(printf %03o $(( len / 256 )))"
  printf '%s' "$h"
  printf "%${pad}s\n" ""
}

# make_data DIR N: a tiny synthetic image set of 4x4 binary pictures in 4 classes.
# Class c lights the 2x2 quadrant c (the content); one more pixel, chosen by a
# fixed pseudo-random sequence, is lit elsewhere (the style).
# Writes DIR/x.npy (uint8 [N, 16]) and DIR/y.npy (int32 [N]).
make_data() {
  dir=$1; n=$2; seed=12345
  x=""; y=""
  i=0
  while [ "$i" -lt "$n" ]; do
    c=$(( i % 4 ))
    seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
    extra=$(( (seed / 65536) % 16 ))
    p=0
    while [ "$p" -lt 16 ]; do
      r=$(( p / 4 )); q=$(( p % 4 ))
      quad=$(( (r / 2) * 2 + q / 2 ))
      if [ "$quad" -eq "$c" ] || [ "$p" -eq "$extra" ]; then x="$x\\001"; else x="$x\\000"; fi
      p=$(( p + 1 ))
    done
    y="$y\\$(printf %03o "$c")\\000\\000\\000"
    i=$(( i + 1 ))
  done
  { npy_header '|u1' "($n, 16)"; printf "$x"; } > "$dir/x.npy"
  { npy_header '<i4' "($n,)"; printf "$y"; } > "$dir/y.npy"
}

# make_seq DIR N: tiny binary "spectrograms" [N, 8, 6] (uint8) in 3 classes:
# class c lights feature c in every frame (global), plus a diagonal that
# starts at frame i % 6 (local). Writes DIR/s.npy and DIR/sy.npy (int32 [N]).
make_seq() {
  dir=$1; n=$2
  x=""; y=""
  i=0
  while [ "$i" -lt "$n" ]; do
    c=$(( i % 3 ))
    t=0
    while [ "$t" -lt 8 ]; do
      f=0
      while [ "$f" -lt 6 ]; do
        if [ "$f" -eq "$c" ] || [ "$f" -eq $(( (t + i) % 6 )) ]; then x="$x\\001"; else x="$x\\000"; fi
        f=$(( f + 1 ))
      done
      t=$(( t + 1 ))
    done
    y="$y\\$(printf %03o "$c")\\000\\000\\000"
    i=$(( i + 1 ))
  done
  { npy_header '|u1' "($n, 8, 6)"; printf "$x"; } > "$dir/s.npy"
  { npy_header '<i4' "($n,)"; printf "$y"; } > "$dir/sy.npy"
}

# oct3 V: the printf escape of byte V (0..255), without a subshell
oct3() { o="\\$(( ($1 >> 6) & 7 ))$(( ($1 >> 3) & 7 ))$(( $1 & 7 ))"; }

# make_img8 DIR N: 8x8 binary pictures [N, 1, 8, 8] (uint8) in 4 classes: class c
# lights the 4x4 quadrant c, plus one pseudo-random pixel. Writes DIR/img.npy.
make_img8() {
  dir=$1; n=$2; seed=4321
  {
    npy_header '|u1' "($n, 1, 8, 8)"
    i=0
    while [ "$i" -lt "$n" ]; do
      c=$(( i % 4 ))
      seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
      extra=$(( (seed / 65536) % 64 ))
      x=""; p=0
      while [ "$p" -lt 64 ]; do
        quad=$(( (p / 32) * 2 + (p % 8) / 4 ))
        if [ "$quad" -eq "$c" ] || [ "$p" -eq "$extra" ]; then x="$x\\001"; else x="$x\\000"; fi
        p=$(( p + 1 ))
      done
      printf "$x"
      i=$(( i + 1 ))
    done
  } > "$dir/img.npy"
}

# make_wav FILE RATE PERIODS PERIOD SHAPE: PERIODS x PERIOD samples of 16-bit mono
# PCM at RATE Hz, a periodic wave: SHAPE square or saw (amplitude about 0.4).
make_wav() {
  f=$1; rate=$2; reps=$3; per=$4; shape=$5
  bytes=$(( reps * per * 2 ))
  le32() {
    oct3 $(( $1 & 255 )); b="$o"; oct3 $(( ($1 >> 8) & 255 )); b="$b$o"
    oct3 $(( ($1 >> 16) & 255 )); b="$b$o"; oct3 $(( ($1 >> 24) & 255 )); printf "$b$o"
  }
  s=""; i=0
  while [ "$i" -lt "$per" ]; do
    if [ "$shape" = square ]; then
      if [ $(( i * 2 )) -lt "$per" ]; then v=13000; else v=$(( 65536 - 13000 )); fi
    else
      v=$(( (i * 26000 / per - 13000 + 65536) % 65536 ))
    fi
    oct3 $(( v & 255 )); s="$s$o"; oct3 $(( v >> 8 )); s="$s$o"
    i=$(( i + 1 ))
  done
  {
    printf 'RIFF'; le32 $(( 36 + bytes )); printf 'WAVEfmt '; le32 16
    printf '\001\000\001\000'; le32 "$rate"; le32 $(( rate * 2 )); printf '\002\000\020\000'
    printf 'data'; le32 "$bytes"
    i=0
    while [ "$i" -lt "$reps" ]; do printf "$s"; i=$(( i + 1 )); done
  } > "$f"
}

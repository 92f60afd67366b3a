#!/usr/bin/env bash
# The README's test command (make check) runs this after installing the
# packages: the layer check, both build systems, gcc and clang warning-free, every Check suite,
# the Python tests, data-parallel training over MPI (tests/mpi), the BLIS build, an install +
# pkg-config link test (with the disent(1) page), the reference manual (Doxygen, 0 warnings),
# every command of README.md (scripts/check-readme.py), and the
# suites and the Python tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
OUT=${CHECK_OUT:-build-check}
t0=$(date +%s)
step() { printf '\n==== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }

step "layers: every #include against the table in docs/design.md"
/usr/bin/python3 scripts/check-layers.py
tests/layers/test-check-layers.sh
tests/scripts/test-run-suites.sh

step "public header: a doc comment on every DSN_API function, no family names, sized structs"
/usr/bin/python3 scripts/check-api.py

step "reference manual: Doxygen of the public headers, any warning fails (make docs); the README checker's test"
make BUILD="$OUT/gcc" docs
tests/scripts/test-docs.sh
tests/scripts/test-check-readme.sh

step "make (gcc, -Werror) + suites"
make -j"$JOBS" BUILD="$OUT/gcc" CFLAGS=-Werror test

step "the suites with the SIMD dispatch forced to each lower path this CPU has (DSI_SIMD: 1 AVX2, 0 portable) and 2 threads"
# the run above used the widest path and one thread; OpenBLAS is forced to its
# AVX2 kernels for the AVX2 run, so it is what an AVX2-only machine runs
suites=$(scripts/list-sources.sh tests | sed "s|^tests/\(.*\)\.c$|$OUT/gcc/tests/\1|")
levels=""
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then levels=0; fi
if [ -n "$levels" ] && grep -qw avx512f /proc/cpuinfo; then levels="1 0"; fi
for lvl in $levels; do
  extra=""; [ "$lvl" = 1 ] && extra=OPENBLAS_CORETYPE=Haswell
  log="$OUT/suites-simd$lvl.log"
  echo "-- DSI_SIMD=$lvl DSN_THREADS=2 $extra (output in $log)"
  # shellcheck disable=SC2086
  if ! env DSI_SIMD="$lvl" DSN_THREADS=2 $extra scripts/run-suites.sh $suites >"$log" 2>&1; then cat "$log"; exit 1; fi
  tail -n 2 "$log"
done

step "README.md: every command run as written (scripts/check-readme.py; marked blocks listed)"
/usr/bin/python3 scripts/check-readme.py --build "$OUT/gcc"

step "MPI: data-parallel fit = one process (mpirun -np 1, 2, 3), bad input never hangs, mpirun disent train"
make -j"$JOBS" BUILD="$OUT/gcc" CFLAGS=-Werror MPI=1 test-mpi

step "ABI: no change to the baselines abi/libdisent.abi and abi/libdisent_mpi.abi (the MPI build; additions allowed)"
scripts/check-abi.sh --mpi "$OUT/gcc/libdisent.so.$(scripts/version.sh)"
tests/abi/run.sh "$OUT/gcc/libdisent.so.$(scripts/version.sh)"

step "LV2 plugin: no allocation or mutex lock in run() over a 60-s render (tests/lv2/rt_host.c)"
DSN_THREADS=2 make -j"$JOBS" BUILD="$OUT/gcc" CFLAGS=-Werror test-lv2  # a 2-thread pool must stay unused by run()

step "benchmarks compile (not run: speed targets live in bench/, not in tests)"
make -j"$JOBS" BUILD="$OUT/gcc" CFLAGS=-Werror bench

step "make (clang, -Werror): library, disent CLI, minimal C/C++ examples"
make -j"$JOBS" BUILD="$OUT/clang" CC=clang CXX=clang++ CFLAGS=-Werror CXXFLAGS=-Werror lib \
    "$OUT/clang/tools/disent" "$OUT/clang/examples/minimal" "$OUT/clang/examples/minimal_cxx"

step "meson + ninja + meson test"
rm -rf "$OUT/meson"
meson setup "$OUT/meson" -Dwerror=true >/dev/null
ninja -C "$OUT/meson"
meson test -C "$OUT/meson" --print-errorlogs

step "both builds export the same symbols"
so="libdisent.so.$(scripts/version.sh)"
diff <(nm -D --defined-only "$OUT/gcc/$so" | awk '{print $3}' | sort) \
     <(nm -D --defined-only "$OUT/meson/$so" | awk '{print $3}' | sort)
echo "same exported symbols"

step "BLIS build"
make -j"$JOBS" BUILD="$OUT/blis" BLAS=blis CFLAGS=-Werror lib "$OUT/blis/tests/test_autodiff"
"$OUT/blis/tests/test_autodiff"

step "install (make and meson) + hosts through pkg-config (shared, static) and CMake (tests/install)"
rm -rf "$OUT/stage" "$OUT/mstage"
make BUILD="$OUT/gcc" PREFIX="$PWD/$OUT/stage" install >/dev/null
tests/install/run.sh "$OUT/stage"
meson configure "$OUT/meson" -Dprefix="$PWD/$OUT/mstage" >/dev/null
meson install -C "$OUT/meson" >/dev/null
tests/install/run.sh "$OUT/mstage"
step "offline pip install of bindings/python into fresh venvs: finds the library, wheel tags"
bindings/python/tests/install_check.sh "$OUT/stage"

if [ -d bindings/python/tests ]; then
  step "Python tests"
  export DISENT_LIBRARY="$PWD/$OUT/gcc/libdisent.so.$(scripts/version.sh)"
  set +e
  /usr/bin/python3 -m pytest -q bindings/python/tests
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"
fi

step "AddressSanitizer + UndefinedBehaviorSanitizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# sanitizer builds run 3-10x slower: Check timeouts scale with this (test_vqvae mnist_short: 190 s of ASan CPU)
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
make -j"$JOBS" BUILD="$OUT/asan" SAN=1 OPT="-O1 -g" test

if [ -d bindings/python/tests ]; then
  step "Python tests against the ASan + UBSan library"
  # python3 itself is not instrumented: the sanitizer runtimes must be loaded
  # first (LD_PRELOAD), from the compiler that built the library; leak checking
  # is off because the interpreter keeps memory alive at exit
  san_cc=${CC:-cc}
  set +e
  LD_PRELOAD="$("$san_cc" -print-file-name=libasan.so) $("$san_cc" -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    DISENT_LIBRARY="$PWD/$OUT/asan/libdisent.so.$(scripts/version.sh)" \
    /usr/bin/python3 -m pytest -q bindings/python/tests
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"
fi

step "valgrind memcheck: training, checkpoint, resume and inference of every family, 0 errors and 0 leaks"
# each run: "VARIABLES|program" (the variables go to env, not to valgrind)
for run in "CK_RUN_CASE=resume|$OUT/gcc/tests/test_reliability" "|$OUT/gcc/tests/test_threads"; do
  vars=${run%%|*}; prog=${run#*|}
  env CK_FORK=no OPENBLAS_NUM_THREADS=1 $vars "$prog" >/dev/null 2>&1 || { echo "suite failed before valgrind: $run"; exit 1; }
  env CK_FORK=no OPENBLAS_NUM_THREADS=1 $vars valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
      --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9 "$prog"
done

step "fuzz harnesses (clang, libFuzzer + ASan + UBSan): replay the corpora, ${FUZZ_SECONDS:-10} s of fuzzing each"
make -j"$JOBS" FUZZ_BUILD="$OUT/fuzz" fuzz >/dev/null
scripts/fuzz-run.sh "$OUT/fuzz/fuzz" "${FUZZ_SECONDS:-10}"

step "ThreadSanitizer (clang): shared-model threads, concurrent saves and loads, the thread pool"
make -j"$JOBS" TSAN_BUILD="$OUT/tsan" tsan

step "all checks passed"

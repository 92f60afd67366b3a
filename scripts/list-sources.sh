#!/bin/sh
# Prints the source files of one part of the tree, one per line, sorted.
# Both the Makefile and meson.build take their file lists from here, so the
# two builds always compile the same files.
#   lib    library sources (lib/*/*.c)
#   tests  test suites (tests/test_*.c)
#   support test support sources (tests/support/*.c)
#   bench  benchmark programs (bench/*.c)
#   tools  command-line programs (tools/*.c), one program per file
#   examples  example programs (examples/*.c), one program per file
#   examples-cxx  C++ example programs (examples/*.cpp), one program per file
#   disent the `disent` command-line program (tools/disent/*.c), one program
#   fuzz   libFuzzer harnesses (tests/fuzz/fuzz_*.c), one program per file
cd "$(dirname "$0")/.." || exit 1
case "$1" in
  lib) ls lib/*/*.c ;;
  tests) ls tests/test_*.c ;;
  support) ls tests/support/*.c 2>/dev/null ;;
  bench) ls bench/*.c 2>/dev/null ;;
  tools) ls tools/*.c 2>/dev/null ;;
  examples) ls examples/*.c 2>/dev/null ;;
  examples-cxx) ls examples/*.cpp 2>/dev/null ;;
  disent) ls tools/disent/*.c ;;
  fuzz) ls tests/fuzz/fuzz_*.c 2>/dev/null ;;
  *) echo "usage: $0 lib|tests|support|bench|tools|examples|examples-cxx|disent|fuzz" >&2; exit 2 ;;
esac | LC_ALL=C sort

#!/bin/sh
# Prints the library version (MAJOR.MINOR.PATCH) read from include/disent.h,
# the single place it is written. "major" prints only MAJOR.
cd "$(dirname "$0")/.." || exit 1
get() { sed -n "s/^#define DSN_VERSION_$1 \([0-9][0-9]*\).*/\1/p" include/disent.h; }
if [ "$1" = major ]; then get MAJOR; else echo "$(get MAJOR).$(get MINOR).$(get PATCH)"; fi

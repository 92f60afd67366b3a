#!/bin/sh
# Fails if a shared library exports any symbol outside the public dsn_* API.
so="$1"
[ -f "$so" ] || { echo "check-exports: no such file: $so" >&2; exit 2; }
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^$' |
      grep -vE '^(dsn_|_init$|_fini$|_edata$|_end$|__bss_start$)' || true)
n=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -c '^dsn_')
if [ -n "$bad" ]; then
  echo "check-exports: $so exports symbols outside dsn_*:" >&2
  echo "$bad" | sed 's/^/  /' >&2
  exit 1
fi
echo "check-exports: $so exports $n symbols, all dsn_*"

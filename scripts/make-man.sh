#!/bin/sh
# make-man.sh DISENT OUT - writes the disent(1) man page to OUT from the
# program's own help: `disent help` (synopsis, subcommands, exit status) and
# `disent CMD --help` for every subcommand it lists. The help text is the
# one source; this script only wraps it in roff (each help verbatim, in a
# no-fill block). Both builds run it (make: build/disent.1; meson: disent.1)
# and install the page into share/man/man1.
set -eu
D=${1:?usage: make-man.sh path/to/disent OUT}
OUT=${2:?usage: make-man.sh path/to/disent OUT}
case "$D" in */*) ;; *) D="./$D" ;; esac
TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP"' EXIT
# roff-escape a help text: backslashes, and lines starting with . or '
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
version=$("$D" --version | sed 's/^disent //')
main=$("$D" help)
cmds=$(printf '%s\n' "$main" | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -v '^help$')
{
  printf '.TH DISENT 1 "" "libdisent %s" "User Commands"\n' "$version"
  printf '.SH NAME\ndisent \\- train, inspect and use libdisent models (disentangled representations)\n'
  printf '.SH SYNOPSIS\n.B disent\n.I SUBCOMMAND\n[\n.I ARGS...\n]\n.br\n.B disent help\n[\n.I SUBCOMMAND\n]\n'
  printf '.SH DESCRIPTION\nThe text of\n.BR "disent help" :\n.PP\n.nf\n'
  printf '%s\n' "$main" | esc
  printf '.fi\n.SH SUBCOMMANDS\n'
  for c in $cmds; do
    printf '.SS %s\n.nf\n' "$c"
    "$D" "$c" --help | esc
    printf '.fi\n'
  done
  printf '.SH SEE ALSO\nThe guide docs/cli.md of the source tree; the reference manual of the C API\n'
  printf '(include/disent.h, make docs).\n'
} > "$TMP"
mv "$TMP" "$OUT"
trap - EXIT

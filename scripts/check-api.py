#!/usr/bin/env python3
"""check-api.py - the public header keeps its own rules (include/disent.h):

  - every DSN_API function has a doc comment: the declaration is preceded by a
    comment block (directly, or as part of a run of declarations that one
    comment documents, e.g. a create/free pair);
  - no public name, type or option key in a declaration names a model family;
  - a public struct with a struct_size field has it first (the sized-struct
    convention).
Prints what is wrong and exits 1; exits 0 with a one-line summary otherwise."""
import re, sys

path = sys.argv[1] if len(sys.argv) > 1 else "include/disent.h"
src = open(path).read()
lines = src.split("\n")
errors = []
n_funcs = 0

# declarations: DSN_API ... name(  (may span lines)
i = 0
while i < len(lines):
    line = lines[i]
    if line.startswith("DSN_API"):
        m = re.search(r"\b(dsn_[a-z0-9_]+)\s*\(", line)
        name = m.group(1) if m else "?"
        n_funcs += 1
        # walk back over continuation lines of earlier declarations of the same group
        j = i - 1
        while j >= 0 and (lines[j].startswith("DSN_API") or lines[j].startswith(" ") and not lines[j].lstrip().startswith("*")
                          and not lines[j].strip().endswith("*/")):
            j -= 1
        if j < 0 or not lines[j].rstrip().endswith("*/"):
            errors.append("%s:%d: %s has no doc comment" % (path, i + 1, name))
        for fam in ("vqvae", "vq_vae", "mlvae", "ml_vae", "dsae", "tsdsae", "codebook"):
            if fam in name:
                errors.append("%s:%d: %s names a model family" % (path, i + 1, name))
    i += 1

for m in re.finditer(r"typedef struct (dsn_[a-z0-9_]+) \{\n(.*?)\n\} \1;", src, re.S):
    body = m.group(2).strip().split("\n")
    if "struct_size" in m.group(2) and not body[0].strip().startswith("size_t struct_size;"):
        errors.append("%s: struct %s: struct_size must be the first field" % (path, m.group(1)))
    for fam in ("vqvae", "mlvae", "dsae", "codebook"):
        if fam in m.group(1):
            errors.append("%s: struct %s names a model family" % (path, m.group(1)))

if errors:
    print("\n".join(errors))
    sys.exit(1)
print("check-api: %d DSN_API functions, each with a doc comment; no family-specific names" % n_funcs)

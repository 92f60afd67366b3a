#!/usr/bin/python3
"""check-layers.py - every #include of lib/, tools/ and examples/ against the
layer table of docs/design.md ("Layers: who may include whom").

The table is the rule: this script reads it from the document, so the two
cannot drift apart. A row names a part of the tree and the parts it may
include directly; what those may include is allowed too (the relation is
transitive). Includes within one folder are always allowed.

Fails (exit 1, one line per finding) on
  - an include the table does not allow (e.g. lib/tensor including autodiff/),
  - the public header included below lib/api by any file but lib/core/status.h,
  - an include that resolves to no file of the tree (a typo or a path that
    leaves the tree) -- system headers use <...> and are not checked,
  - a cycle of includes between files, or a cycle in the table itself.
tests/ and bench/ may include anything and are not checked.

    /usr/bin/python3 scripts/check-layers.py [--root DIR] [-v]
"""
import os
import re
import sys

TABLE_HEADING = "## Layers: who may include whom"
PUBLIC = "public header"          # include/disent.h
STATUS_DOOR = "lib/core/status.h"  # the one file below lib/api that may include it

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def read_table(root):
    """{part: set(parts it may include directly)} from docs/design.md."""
    path = os.path.join(root, "docs", "design.md")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        sys.exit(f"check-layers: no '{TABLE_HEADING}' section in {path}")
    table = {}
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if not line.startswith("|") or set(line) <= set("|- :"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        parts = re.findall(r"`([^`]+)`", cells[0])
        if not parts:
            continue  # the header row
        allowed = set(re.findall(r"`([^`]+)`", cells[1]))
        for p in parts:
            table[p] = allowed
    if not table:
        sys.exit(f"check-layers: the table under '{TABLE_HEADING}' is empty")
    return table


def closure(table, errors):
    """Transitive closure; reports a cycle in the table."""
    for part, allowed in table.items():
        for a in allowed:
            if a not in table and a != PUBLIC:
                errors.append(f"docs/design.md: layer table: '{part}' may include unknown part '{a}'")
    full = {}

    def visit(p, stack):
        if p in full:
            return full[p]
        if p in stack:
            errors.append("docs/design.md: layer table has a cycle: " + " -> ".join(stack[stack.index(p):] + [p]))
            return set()
        stack.append(p)
        out = set()
        for a in table.get(p, ()):
            out.add(a)
            if a in table:
                out |= visit(a, stack)
        stack.pop()
        full[p] = out
        return out

    for p in table:
        visit(p, [])
    return full


def part_of(rel):
    """The table row a file belongs to, or None when it is not checked."""
    bits = rel.split("/")
    if bits[0] == "lib" and len(bits) >= 3:
        return "lib/" + bits[1]
    if bits[0] == "include" and rel in ("include/disent.h", "include/disent_mpi.h"):
        return PUBLIC
    if bits[0] == "tools":
        return "tools/" + bits[1] if len(bits) >= 3 else "tools"
    if bits[0] in ("examples", "bindings"):
        return bits[0]
    return None


def sources(root):
    for top in ("lib", "tools", "examples", "bindings", "include"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h", ".cpp", ".hpp", ".cc")):
                    yield os.path.relpath(os.path.join(d, f), root)


def resolve(root, rel, name, angle):
    """The tree-relative path an include names, or None (system header)."""
    if name == "disent.h":
        return "include/disent.h"
    if not angle:
        local = os.path.normpath(os.path.join(os.path.dirname(rel), name))
        if os.path.isfile(os.path.join(root, local)) and not local.startswith(".."):
            return local
    for base in ("lib", "include"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, cand)) and not cand.startswith(".."):
            return cand
    return "" if not angle else None


def main(argv):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    verbose = False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--root" and args:
            root = args.pop(0)
        elif a == "-v":
            verbose = True
        else:
            sys.exit(__doc__)
    root = os.path.abspath(root)
    errors = []
    table = read_table(root)
    allowed = closure(table, errors)

    graph = {}
    n_includes = 0
    for rel in sorted(sources(root)):
        part = part_of(rel)
        if part is None:
            continue
        if part not in table and part != PUBLIC:
            errors.append(f"{rel}: '{part}' has no row in the layer table of docs/design.md")
            continue
        edges = graph.setdefault(rel, [])
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                angle, name = m.group(1) == "<", m.group(2)
                target = resolve(root, rel, name, angle)
                if target is None:
                    continue  # a system header
                where = f"{rel}:{lineno}"
                if target == "":
                    errors.append(f"{where}: #include \"{name}\" names no file of the tree")
                    continue
                n_includes += 1
                edges.append((target, where))
                tpart = part_of(target)
                if tpart == part or tpart is None:
                    continue
                if tpart == PUBLIC:
                    if PUBLIC in allowed.get(part, ()) or rel == STATUS_DOOR:
                        pass  # lib/api, lib/mpi and the hosts
                    elif part.startswith("lib/"):
                        errors.append(f"{where}: the public header below lib/api: include \"core/status.h\" "
                                      f"for the status codes (docs/design.md, Layers)")
                    else:
                        errors.append(f"{where}: '{part}' may not include the public header")
                    continue
                if tpart not in allowed.get(part, ()):
                    errors.append(f"{where}: '{part}' may not include {target} ('{tpart}'; "
                                  f"see the layer table in docs/design.md)")

    # cycles between files (include guards hide them from the compiler)
    state = {}

    def dfs(node, stack):
        state[node] = 1
        stack.append(node)
        for target, where in graph.get(node, ()):
            if state.get(target) == 1:
                cyc = stack[stack.index(target):] + [target]
                errors.append(f"{where}: include cycle: " + " -> ".join(cyc))
            elif target not in state:
                dfs(target, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node, [])

    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} problem(s)")
        return 1
    if verbose:
        for p in sorted(table):
            print(f"{p}: {', '.join(sorted(allowed[p])) or '-'}")
    print(f"check-layers: {n_includes} includes in {len(graph)} files follow the layer table")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

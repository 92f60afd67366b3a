#!/usr/bin/env python3
"""check-readme.py [--build DIR] [--readme FILE] [--list] - runs every command
of README.md as written, in README order, and fails on the first that fails.

What is a command: every line of an indented (4-space) code block (a line
ending in a backslash continues on the next), and every fenced ```c block
(compiled against the build and run) and ```python block (run with the
bindings of the source tree). An HTML comment right before a block changes
what happens to it, and nothing else is skipped:

    <!-- check-readme: not run: REASON -->   the block's commands are listed
                                             with REASON and not run
    <!-- check-readme: prints "TEXT" -->     the block must print TEXT

The commands run in a scratch folder where build/ is the build under test
(--build, default build) and the source tree's folders (bindings, data,
examples, include, scripts, tools, docs) are links to the real ones, so the
files a command writes (models, swap grids) stay out of the tree and data
(data/mnist) is shared with the tree. Each command has a time limit
(CHECK_README_TIMEOUT, 600 s). The last line counts the commands run and
the commands listed as not run.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MARK = re.compile(r"<!--\s*check-readme:\s*(.*?)\s*-->")
LINKS = ("bindings", "data", "docs", "examples", "include", "scripts", "tools", "lib", "tests", "bench", "abi",
         "cmake", "Makefile", "meson.build", "meson_options.txt", "disent.pc.in", "README.md", "LICENSE")


def blocks(text):
    """(kind, body, mark, line) for every code block: kind 'sh', 'c', 'python'."""
    lines = text.split("\n")
    out, mark, i, fence = [], None, 0, None
    while i < len(lines):
        line = lines[i]
        m = MARK.search(line)
        if m:
            mark = m.group(1)
            i += 1
            continue
        f = re.match(r"^```\s*(\w*)\s*$", line)
        if f:
            lang, start, body = f.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            i += 1
            kind = {"c": "c", "python": "python", "sh": "sh", "shell": "sh", "console": "sh"}.get(lang)
            if kind:
                out.append((kind, "\n".join(body) + "\n", mark, start))
            elif mark:
                raise SystemExit("README line %d: a check-readme mark before a ```%s block" % (start, lang))
            mark = None
            continue
        if line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i + 1, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if lines[i].strip() or (i + 1 < len(lines) and lines[i + 1].startswith("    ")):
                    body.append(lines[i][4:])
                i += 1
            out.append(("sh", "\n".join(body).rstrip("\n") + "\n", mark, start))
            mark = None
            continue
        if line.strip() and mark and not line.lstrip().startswith("<!--"):
            raise SystemExit("README: the check-readme mark before line %d is not followed by a code block" % (i + 1))
        i += 1
    return out


def commands(body):
    """Shell lines of a block, continuation lines joined."""
    cmds, cur = [], ""
    for line in body.split("\n"):
        if not line.strip() and not cur:
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            cmds.append(cur.strip())
        cur = ""
    return cmds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--list", action="store_true", help="print what would run, run nothing")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = os.path.abspath(args.readme if os.path.isabs(args.readme) else os.path.join(os.getcwd(), args.readme))
    build = os.path.abspath(args.build)
    timeout = float(os.environ.get("CHECK_README_TIMEOUT", "600"))
    with open(readme, encoding="utf-8") as f:
        found = blocks(f.read())
    work = tempfile.mkdtemp(prefix="check-readme.")
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    try:
        for name in LINKS:
            if os.path.exists(os.path.join(root, name)):
                os.symlink(os.path.join(root, name), os.path.join(work, name))
        os.symlink(build, os.path.join(work, "build"))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(root, "bindings", "python")
        lib = os.path.join(build, "libdisent.so")
        if os.path.exists(lib):
            env["DISENT_LIBRARY"] = lib
        ran = not_run = 0
        for kind, body, mark, line in found:
            want = None
            if mark:
                m = re.match(r'^prints\s+"(.*)"$', mark)
                if m:
                    want = m.group(1)
                elif not mark.startswith("not run:"):
                    raise SystemExit("README line %d: unknown check-readme mark '%s'" % (line, mark))
            units = commands(body) if kind == "sh" else [body]
            for u in units:
                label = u if kind == "sh" else "```%s block of %d lines" % (kind, body.count("\n"))
                if mark and mark.startswith("not run:"):
                    print("not run  README:%d  %s   (%s)" % (line, label, mark[len("not run:"):].strip()))
                    not_run += 1
                    continue
                if args.list:
                    print("run      README:%d  %s%s" % (line, label, "   (prints %r)" % want if want else ""))
                    ran += 1
                    continue
                t0 = time.time()
                if kind == "sh":
                    cmd = ["bash", "-c", "set -eo pipefail\n" + u]
                elif kind == "python":
                    cmd = ["/usr/bin/python3", "-c", u]
                else:
                    src = os.path.join(work, "readme_%d.c" % line)
                    with open(src, "w") as f:
                        f.write(u)
                    cc = os.environ.get("CC", "cc")
                    comp = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-Iinclude", src, "-o", src[:-2],
                            "-Lbuild", "-ldisent", "-Wl,-rpath," + build]
                    r = subprocess.run(comp, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       universal_newlines=True)
                    if r.returncode:
                        print(r.stdout)
                        print("FAIL     README:%d  %s: does not compile (%s)" % (line, label, " ".join(comp)))
                        return 1
                    cmd = [src[:-2]]
                try:
                    r = subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       universal_newlines=True, timeout=timeout)
                except subprocess.TimeoutExpired:
                    print("FAIL     README:%d  %s: still running after %.0f s" % (line, label, timeout))
                    return 1
                dt = time.time() - t0
                if r.returncode:
                    print(r.stdout[-4000:])
                    print("FAIL     README:%d  %s: exit status %d" % (line, label, r.returncode))
                    return 1
                if want is not None and want not in r.stdout:
                    print(r.stdout[-4000:])
                    print("FAIL     README:%d  %s: did not print %r" % (line, label, want))
                    return 1
                print("ok       README:%d  %s   (%.1f s)" % (line, label, dt))
                ran += 1
        print("check-readme: %d commands %s, %d listed as not run (reasons above)" %
              (ran, "to run" if args.list else "ran as written", not_run))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

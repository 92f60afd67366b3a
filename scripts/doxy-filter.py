#!/usr/bin/env python3
"""doxy-filter.py FILE - Doxygen's INPUT_FILTER for the public headers.

The headers are documented in plain C comments (include/disent.h is read as
text too, so it keeps no Doxygen markup). This filter turns them into doc
comments on the fly, keeping every line where it is (warnings point at the
real line): the first comment documents the file (@file), a comment that
starts a line documents what follows it, a comment after code on the same
line documents that member (/**<). Comments inside function bodies do not
occur in the headers.
"""
import re
import sys


MEMBERS = re.compile(r"^(\s*)((?:const\s+)?[A-Za-z_][\w\s]*?[\s*]+)(\w+(?:\s*\[\w*\])?(?:\s*,\s*\w+(?:\s*\[\w*\])?)+)\s*;(\s*)$")


def split_members(code, comment):
    """`TYPE a, b; /* doc */` documents every member: each gets the doc when the
    comment ends on this line, else the last gets it and the others point to it
    (all on the same line, so line numbers stay)."""
    m = MEMBERS.match(code)
    if not m:
        return code + "/**<" + comment
    indent, typ, names, gap = m.groups()
    names = [n.strip() for n in names.split(",")]
    if "*/" in comment:
        text = comment[:comment.index("*/")]
        return indent + " ".join("%s%s; /**<%s*/" % (typ, n, text) for n in names[:-1]) + \
            " %s%s;%s/**<%s" % (typ, names[-1], gap, comment)
    last = re.sub(r"\[.*", "", names[-1])
    return indent + " ".join("%s%s; /**< see %s */" % (typ, n, last) for n in names[:-1]) + \
        " %s%s;%s/**<%s" % (typ, names[-1], gap, comment)


def filter_text(text, name):
    out = []
    first = True
    in_comment = False
    for line in text.split("\n"):
        if not in_comment:
            s = line.lstrip()
            if s.startswith("/*") and not s.startswith("/**"):
                indent = line[:len(line) - len(s)]
                body = s[2:]
                if first:
                    line = indent + "/** @file " + name + " " + body.lstrip()
                    first = False
                else:
                    line = indent + "/**" + body
            else:
                # code followed by a comment: a member's doc
                m = re.match(r"^(\s*\S.*?)/\*(?![*])(.*)$", line)
                if m and not m.group(1).lstrip().startswith("*") and "\"" not in m.group(1):
                    line = split_members(m.group(1), m.group(2))
        # track multi-line comments
        pos = 0
        while True:
            if in_comment:
                e = line.find("*/", pos)
                if e < 0:
                    break
                in_comment = False
                pos = e + 2
            else:
                b = line.find("/*", pos)
                if b < 0:
                    break
                in_comment = True
                pos = b + 2
        out.append(line)
    return "\n".join(out)


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(filter_text(text, path.rsplit("/", 1)[-1]))


if __name__ == "__main__":
    main()

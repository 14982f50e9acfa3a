#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Show the BTF of the module's kfuncs, as the verifier sees it.

usage: bpftool btf dump file rdynptr.ko --base-btf vmlinux | kfunc-btf.py [NAME...]

Reads bpftool's raw dump of the module's (split) BTF and prints, for every
FUNC named NAME (default: every bpf_rdynptr_* and bpf_iter_rdynptr_* FUNC):
the FUNC, its FUNC_PROTO with every parameter's name and type, and the
decl tags on it (bpf_kfunc: the kernel's mark of a kfunc).  Type ids of
vmlinux are named by bpftool only for the module's own types, so a
parameter's type is shown as far as the module's BTF knows it.

`make btf [KFUNC=name]` runs this on the built module.
"""

import re
import sys

PREFIXES = ("bpf_rdynptr_", "bpf_iter_rdynptr_")
TYPE_RE = re.compile(r"^\[(\d+)\] (\S+) '([^']*)'(.*)$")
MEMBER_RE = re.compile(r"^\s+'([^']*)' type_id=(\d+)")


def parse(lines):
    """Types by id: (kind, name, attributes, member lines)."""
    types = {}
    cur = None
    for line in lines:
        m = TYPE_RE.match(line)
        if m:
            cur = int(m.group(1))
            types[cur] = (m.group(2), m.group(3), m.group(4).strip(), [])
        elif cur is not None and line.startswith(("\t", " ")):
            types[cur][3].append(line.strip())
    return types


def attr(attrs, key):
    m = re.search(r"\b%s=(-?\d+)" % key, attrs)
    return int(m.group(1)) if m else None


def type_name(types, tid, depth=0):
    """A C-ish name of type `tid` (ids of vmlinux stay numbers)."""
    if tid == 0:
        return "void"
    t = types.get(tid)
    if t is None:
        return "vmlinux type %d" % tid
    kind, name, attrs, _ = t
    inner = attr(attrs, "type_id")
    if depth > 8:
        return "..."
    if kind == "PTR":
        return type_name(types, inner, depth + 1) + " *"
    if kind in ("CONST", "VOLATILE", "RESTRICT"):
        return kind.lower() + " " + type_name(types, inner, depth + 1)
    if kind in ("STRUCT", "UNION", "ENUM", "FWD"):
        return "%s %s" % (kind.lower(), name)
    return name


def show(types, fid, out):
    kind, name, attrs, _ = types[fid]
    out.append("[%d] FUNC '%s' %s" % (fid, name, attrs))
    proto = attr(attrs, "type_id")
    if proto in types:
        pkind, _, pattrs, members = types[proto]
        ret = attr(pattrs, "ret_type_id")
        out.append("  [%d] %s returns %s" % (proto, pkind, type_name(types, ret)))
        for mline in members:
            m = MEMBER_RE.match("\t" + mline)
            if m:
                out.append("    %s: %s" % (m.group(1),
                                           type_name(types, int(m.group(2)))))
    for tid, (tkind, tname, tattrs, _) in sorted(types.items()):
        if tkind == "DECL_TAG" and attr(tattrs, "type_id") == fid:
            out.append("  [%d] DECL_TAG '%s' %s" % (tid, tname, tattrs))


def main():
    wanted = sys.argv[1:]
    types = parse(sys.stdin.read().splitlines())
    funcs = sorted((name, tid) for tid, (kind, name, _, _) in types.items()
                   if kind == "FUNC" and
                   (name in wanted if wanted else name.startswith(PREFIXES)))
    missing = [w for w in wanted if w not in {n for n, _ in funcs}]
    out = []
    for _, tid in funcs:
        show(types, tid, out)
    print("\n".join(out))
    for w in missing:
        print("kfunc-btf: no FUNC named %s in the module's BTF "
              "(is it in a kfunc_set! and declared in include/rdynptr/kfuncs.h?)" % w,
              file=sys.stderr)
    return 1 if missing or not funcs else 0


if __name__ == "__main__":
    sys.exit(main())

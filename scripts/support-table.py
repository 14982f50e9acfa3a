#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The support table of the README, from the logs of make check-matrix.

    support-table.py [--check README] SERIES=LOG...

Reads each series' make vmtest log (KTAP) and prints the table of what
works there, as Markdown, one row per series: for each feature, "yes" if
its tests ran, "no" if they SKIPped for the reason a kernel without it
gives (the SKIP reasons name the missing kfunc or kernel feature).  Only
series and features: test counts and point releases change too often to
be documentation.  With
--check, also compares the table with the one in README between the
support-table markers, and exits 1 if they differ.
"""

import re
import sys

BEGIN = "<!-- support-table: begin (make check-matrix checks it) -->"
END = "<!-- support-table: end -->"

# (column, pattern of a SKIP reason that means the kernel lacks it)
FEATURES = [
    ("bpf_rdynptr_clone", r"bpf_rdynptr_clone, which the running kernel does not have"),
    ("SKB_META dynptrs", r"bpf_dynptr_from_skb_meta\b.*which the running kernel does not have"
                         r"|no skb_meta dynptrs"),
    ("FILE dynptrs", r"bpf_dynptr_from_file\b.*which the running kernel does not have"
                     r"|no file dynptrs"),
    ("non-linear skb tests", r"__linear_size: BPF_PROG_TEST_RUN of the running kernel"),
    ("KUnit suites", r"rdynptr_kunit\.ko does not exist"),
]

TEST_RE = re.compile(r"^(not ok|ok) \d+ (\S+)(?: # SKIP (.*))?$")
TOTAL_RE = re.compile(r"^vmtest: (\d+) passed, (\d+) failed, (\d+) skipped$")


def row(series, path):
    total, skips, ran = None, [], False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = TOTAL_RE.match(line)
            if m:
                total = m.groups()
            m = TEST_RE.match(line)
            if m:
                ran = True
                if m.group(3):
                    skips.append(m.group(3))
    if not ran or total is None:
        return None
    cells = [series]
    for _, pat in FEATURES:
        cells.append("no" if any(re.search(pat, s) for s in skips) else "yes")
    return cells


def table(rows):
    head = ["series"] + [f for f, _ in FEATURES]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv):
    check = None
    if argv[:1] == ["--check"]:
        check, argv = argv[1], argv[2:]
    rows = []
    for arg in argv:
        series, _, path = arg.partition("=")
        r = row(series, path)
        if r is None:
            print(f"support-table: {path}: no complete make vmtest run", file=sys.stderr)
            return 1
        rows.append(r)
    text = table(rows)
    print(text)
    if check:
        with open(check, encoding="utf-8") as f:
            readme = f.read()
        m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
        if not m:
            print(f"support-table: {check} has no support table markers", file=sys.stderr)
            return 1
        if m.group(1).strip() != text:
            print(f"support-table: the table in {check} is not this run's: update it "
                  "with the table above", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

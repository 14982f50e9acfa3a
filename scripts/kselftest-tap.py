#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks the TAP that the kernel tree's run_kselftest.sh printed: a plan,
then for each COLLECTION:TEST given an "ok" line "selftests: COLLECTION:
TEST" (not "not ok", not a SKIP), and as many result lines as the plan
says.  Prints one line per test; exit 0 only if all passed.

usage: kselftest-tap.py TAP_FILE COLLECTION:TEST..."""

import re
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], errors="replace") as f:
        lines = f.read().splitlines()
    plan = next((int(m.group(1)) for l in lines if (m := re.fullmatch(r"1\.\.(\d+)", l))), None)
    results = [l for l in lines if re.match(r"(not )?ok \d+ ", l)]
    ok = True
    if plan is None or plan != len(results):
        print("kselftest: plan %s, %d result line(s)" % (plan, len(results)))
        ok = False
    for want in sys.argv[2:]:
        collection, _, test = want.partition(":")
        name = "selftests: %s: %s" % (collection, test)
        mine = [l for l in results if re.match(r"(not )?ok \d+ %s( #.*)?$" % re.escape(name), l)]
        if len(mine) != 1:
            print("kselftest: %d result line(s) for %s" % (len(mine), name))
            ok = False
            continue
        line = mine[0]
        passed = line.startswith("ok ") and "# SKIP" not in line
        print("kselftest: %s" % line)
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

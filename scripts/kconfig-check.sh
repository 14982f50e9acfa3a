#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: scripts/kconfig-check.sh FRAGMENT... -- DOTCONFIG
#
# Check that every option the fragments set ("CONFIG_X=v" or
# "# CONFIG_X is not set") has that value in DOTCONFIG.  Prints one line
# per option that did not survive and exits 1 if there is any.

set -euo pipefail
frags=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	frags+=("$1")
	shift
done
[ $# -eq 2 ] && [ ${#frags[@]} -gt 0 ] || {
	echo "usage: $0 FRAGMENT... -- DOTCONFIG" >&2
	exit 2
}
dotconfig=$2

awk '
	function parse(line) {
		if (match(line, /^CONFIG_[A-Za-z0-9_]+=/)) {
			name = substr(line, 1, RLENGTH - 1)
			val = substr(line, RLENGTH + 1)
			return 1
		}
		if (match(line, /^# CONFIG_[A-Za-z0-9_]+ is not set$/)) {
			name = substr(line, 3, RLENGTH - 13)
			val = "n"
			return 1
		}
		return 0
	}
	FILENAME != last { file++; last = FILENAME }
	!parse($0) { next }
	file < nfrags { want[name] = val; order[++n] = name; next }
	{ have[name] = val }
	END {
		bad = 0
		for (i = 1; i <= n; i++) {
			o = order[i]
			if (seen[o]++)
				continue
			got = (o in have) ? have[o] : "n"
			if (got != want[o]) {
				printf "%s: wanted %s, got %s\n", o, want[o], got
				bad = 1
			}
		}
		exit bad
	}
' nfrags=$((${#frags[@]} + 1)) "${frags[@]}" "$dotconfig"

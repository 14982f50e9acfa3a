#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests for the logic in scripts/: the kconfig check and the VM runner's
# console classification and guest command file.  Prints one line per
# test and a summary; exits 1 if any failed.

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() {	# check NAME CMD...
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		pass=$((pass + 1))
		echo "ok - $name"
	else
		fail=$((fail + 1))
		echo "not ok - $name"
		sed 's/^/#   /' "$tmp/out"
	fi
}

# kconfig-check.sh ---------------------------------------------------------

printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_N=42\n' >"$tmp/frag"

kconfig_accepts_surviving_options() {
	printf 'CONFIG_A=y\nCONFIG_C="x y"\nCONFIG_N=42\nCONFIG_OTHER=m\n' >"$tmp/dot"
	"$scripts/kconfig-check.sh" "$tmp/frag" -- "$tmp/dot"
}

kconfig_names_dropped_option() {
	printf 'CONFIG_C="x y"\nCONFIG_N=42\n' >"$tmp/dot"
	! "$scripts/kconfig-check.sh" "$tmp/frag" -- "$tmp/dot" >"$tmp/msg" &&
		grep -qx 'CONFIG_A: wanted y, got n' "$tmp/msg" &&
		[ "$(wc -l <"$tmp/msg")" = 1 ]
}

kconfig_names_option_that_should_be_unset() {
	printf 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C="x y"\nCONFIG_N=42\n' >"$tmp/dot"
	! "$scripts/kconfig-check.sh" "$tmp/frag" -- "$tmp/dot" >"$tmp/msg" &&
		grep -qx 'CONFIG_B: wanted n, got y' "$tmp/msg"
}

kconfig_compares_values_not_just_presence() {
	printf 'CONFIG_A=y\nCONFIG_C="x"\nCONFIG_N=43\n' >"$tmp/dot"
	! "$scripts/kconfig-check.sh" "$tmp/frag" -- "$tmp/dot" >"$tmp/msg" &&
		grep -q '^CONFIG_C:' "$tmp/msg" && grep -q '^CONFIG_N:' "$tmp/msg"
}

kconfig_later_fragment_wins() {
	printf 'CONFIG_A=m\n' >"$tmp/frag2"
	printf 'CONFIG_A=m\nCONFIG_C="x y"\nCONFIG_N=42\n' >"$tmp/dot"
	"$scripts/kconfig-check.sh" "$tmp/frag" "$tmp/frag2" -- "$tmp/dot"
}

kconfig_checks_the_real_fragment() {
	# every line of the project's fragment is an option line or a comment
	! grep -vE '^(CONFIG_[A-Z0-9_]+=.+|# CONFIG_[A-Z0-9_]+ is not set|#.*|)$' \
		"$scripts"/kconfig/*.config
}

check "kconfig check accepts options that survived" kconfig_accepts_surviving_options
check "kconfig check names an option that dropped out" kconfig_names_dropped_option
check "kconfig check names an option that should be unset" kconfig_names_option_that_should_be_unset
check "kconfig check compares values, not just presence" kconfig_compares_values_not_just_presence
check "kconfig check lets a later fragment override" kconfig_later_fragment_wins
check "kconfig fragments contain only option lines" kconfig_checks_the_real_fragment

# vm.py --------------------------------------------------------------------

py() {
	PYTHONPATH=$scripts python3 -c "import importlib.util as u
s = u.spec_from_file_location('vm', '$scripts/vm.py'); vm = u.module_from_spec(s); s.loader.exec_module(vm)
$1"
}

vm_classifies_crashes() {
	py '
for l in ["[   3.1] Kernel panic - not syncing: sysrq triggered crash",
          "[   2.0] Oops: general protection fault, probably for non-canonical address",
          "[   1.0] BUG: kernel NULL pointer dereference, address: 0000000000000000",
          "[   1.0] kernel BUG at mm/slub.c:123!"]:
    assert vm.classify(l) == "crash", l'
}

vm_classifies_reports() {
	py '
for l in ["[   1.0] WARNING: CPU: 0 PID: 1 at kernel/bpf/verifier.c:100 f+0x1/0x2",
          "[   1.0] ------------[ cut here ]------------",
          "[   1.0] BUG: KASAN: slab-out-of-bounds in f+0x1/0x2",
          "[   1.0] UBSAN: shift-out-of-bounds in x.c:1:2",
          "[   1.0] WARNING: possible circular locking dependency detected",
          "[   1.0] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
          "unreferenced object 0xffff888004a1c000 (size 128):",
          "unreferenced object (percpu) 0x00007fff00001000 (size 8):",
          "[   1.0] BUG: sleeping function called from invalid context at x.c:1"]:
    assert vm.classify(l) in ("report", "crash"), l
assert vm.classify("[   1.0] BUG: KASAN: use-after-free in f") == "crash"'
}

vm_ignores_normal_lines() {
	py '
for l in ["[   0.5] Run /work/main/scripts/vm-init.sh as init process",
          "ok 3 rdynptr_adjust/test_trim_oops_named_like_a_test",
          "[   1.2] rdynptr: loaded, 7 kfuncs registered",
          "[   0.1] Warning: something lower-case is not a kernel WARNING splat"]:
    assert vm.classify(l) is None, l'
}

vm_quotes_guest_commands() {
	py "
import subprocess
for s in [\"echo 'a b'\", 'x\"y', \"it's\", '\$(false)', '']:
    out = subprocess.run(['sh', '-c', 'v=' + vm.shquote(s) + '; printf %s \"\$v\"'],
                         capture_output=True, text=True).stdout
    assert out == s, (s, out)"
}

vm_remembers_the_kvm_verdict() {
	py "
import types
probes = []
vm.kvm_usable = lambda: True
vm.accel_key = lambda qemu: 'host1'
vm.probe_kvm = lambda a: (probes.append(1), (False, 'stuck after the BIOS'))[1]
a = types.SimpleNamespace(accel='auto', verdict_dir='$tmp/accel', qemu='q', kernel='k', plugin=None)
assert vm.decide_accel(a) == 'tcg'
assert vm.decide_accel(a) == 'tcg'
assert len(probes) == 1, probes                      # probed once, then remembered
a.accel = 'kvm'
assert vm.decide_accel(a) == 'kvm'                   # VM_ACCEL forces it
vm.accel_key = lambda qemu: 'host2'                  # another host, CPU or QEMU
vm.probe_kvm = lambda a: (True, 'booted')
a.accel = 'auto'
assert vm.decide_accel(a) == 'kvm'
vm.kvm_usable = lambda: False                        # no /dev/kvm: no probe at all
vm.probe_kvm = None
assert vm.decide_accel(a) == 'tcg'
vm.kvm_usable = lambda: True                         # a TCG plugin means TCG
a.plugin, a.accel = 'x.so', 'kvm'
assert vm.decide_accel(a) == 'tcg'"
}

vm_kvm_verdict_key_covers_qemu() {
	py "
assert vm.accel_key('echo') != vm.accel_key('true')
assert vm.accel_key('echo') == vm.accel_key('echo')"
}

# check-workflow.py --------------------------------------------------------

write_workflow() {	# write_workflow FILE [SED-EXPRESSION]: a small valid workflow, edited
	cat >"$tmp/wf.yml" <<'WF'
on: push
concurrency:
  group: g
  cancel-in-progress: true
jobs:
  a:
    runs-on: x
    outputs:
      root: ${{ steps.k.outputs.root }}
    steps:
      - uses: actions/checkout@v4
      - id: k
        run: make ci-keys >>"$GITHUB_OUTPUT"
  b:
    needs: a
    runs-on: x
    strategy:
      matrix:
        kernel: ["7.3"]
    env:
      KERNEL: ${{ matrix.kernel }}
    steps:
      - uses: actions/cache/restore@v4
        with:
          key: ${{ needs.a.outputs.root }}
      - run: make vmtest FILTER=x
WF
	[ -z "${1:-}" ] || sed -i -e "$1" "$tmp/wf.yml"
	printf 'export KERNEL FILTER\nci-keys:\nvmtest:\n' >"$tmp/Makefile"
	printf 'root=root-1\nkernel=kernel-2\n' >"$tmp/keys"
}

workflow_checker() {
	python3 "$scripts/check-workflow.py" "$tmp/Makefile" "$tmp/keys" "$tmp/wf.yml"
}

workflow_checker_accepts_make_targets_and_known_outputs() {
	write_workflow && workflow_checker
}

workflow_checker_refuses_what_this_repository_cannot_run() {
	local edit want
	while IFS='|' read -r edit want; do
		write_workflow "$edit"
		if workflow_checker >"$tmp/msg"; then
			echo "accepted after $edit"
			return 1
		fi
		grep -q "$want" "$tmp/msg" || { echo "after $edit:"; cat "$tmp/msg"; return 1; }
	done <<'EDITS'
s/make vmtest/make nosuch/|has no target 'nosuch'
s/FILTER=x/FILTER=${{ matrix.kernel }}/|an expression in a command
s/FILTER=x/FILTER=x; rm -rf build/|not one make target
s/FILTER=x/UNKNOWN=x/|does not pass UNKNOWN on
s/steps.k.outputs.root/steps.k.outputs.nope/|ci-keys prints no nope
s/needs.a.outputs.root/needs.a.outputs.nope/|job a has no output nope
s/needs: a/needs: c/|needs unknown job c
s/matrix.kernel }}/matrix.flavor }}/|no matrix axis flavor
s#actions/checkout@v4#someone/action@main#|not one of GitHub's own actions
s/cancel-in-progress: true/cancel-in-progress: false/|cancel-in-progress is not true
EDITS
}

check "vm runner classifies crash lines" vm_classifies_crashes
check "vm runner classifies sanitizer and warning reports" vm_classifies_reports
check "vm runner ignores ordinary console lines" vm_ignores_normal_lines
check "vm runner quotes guest commands losslessly" vm_quotes_guest_commands
check "vm runner probes KVM once per host and remembers the verdict" vm_remembers_the_kvm_verdict
check "vm runner keys the KVM verdict by the QEMU version" vm_kvm_verdict_key_covers_qemu
check "workflow checker accepts make targets and known outputs" workflow_checker_accepts_make_targets_and_known_outputs
check "workflow checker refuses what this repository cannot run" workflow_checker_refuses_what_this_repository_cannot_run

echo "scripts: $pass passed, $fail failed"
[ "$fail" = 0 ]

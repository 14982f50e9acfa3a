#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a CI runner needs beyond make's own targets (.github/workflows/).
#
# usage: scripts/ci.sh keys [root]
#        scripts/ci.sh setup
#
#   keys    the cache entries the build of KERNEL and FLAVOR uses, one
#           NAME=ENTRY line each ($GITHUB_OUTPUT's format), where ENTRY is
#           the directory's name under $RDYNPTR_CACHE, which is its key:
#           root, libbpf, kernel (and cargo: the crates, keyed by
#           tools/Cargo.lock).  The keys are the scripts' own (each
#           script's --print-dir).  The kernel's and libbpf's keys cover
#           the toolchain root's package versions, so the root is made
#           first if it is missing; "keys root" prints only root's, which
#           needs nothing.
#   setup   lets this user run KVM guests, make user namespaces and make
#           the toolchain root without root where the host allows it but
#           does not by default (a GitHub runner: /dev/kvm root-only;
#           Ubuntu's AppArmor restricting user namespaces; no mmdebstrap,
#           uidmap or Debian archive keys); does nothing where all of it
#           already works.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {

top=$RDYNPTR_TOP

entry() {	# NAME DIR
	echo "$1=${2##*/}"
}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

case ${1:-} in
keys)
	entry root "$("$top/scripts/toolchain-root.sh" --print-dir)"
	[ "${2:-}" = root ] && exit 0
	"$top/scripts/toolchain-root.sh" >/dev/null
	entry libbpf "$("$top/scripts/libbpf.sh" --print-dir)"
	entry kernel "$("$top/scripts/kernel.sh" --series "${KERNEL:-7.3}" \
		--flavor "${FLAVOR:-default}" ${KERNEL_PATCHES:+--patches "$KERNEL_PATCHES"} --print-dir)"
	echo "cargo=cargo-$(cache_key <"$top/tools/Cargo.lock")"
	;;
setup)
	# Each part may fail (no root here: nothing to do it with); the
	# closing line says what this user can do then.
	if [ -e /dev/kvm ] && { ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; }; then
		if echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' |
			as_root tee /etc/udev/rules.d/99-rdynptr-kvm.rules >/dev/null &&
			as_root udevadm control --reload-rules &&
			as_root udevadm trigger --name-match=kvm; then
			note CI "/dev/kvm opened to all users (udev rule)"
		else
			note CI "cannot open /dev/kvm to $(id -un) (no root)"
		fi
	fi
	# Rootless toolchain root (Documentation/rootless.rst): mmdebstrap,
	# newuidmap, Debian's archive keys (an Ubuntu runner lacks them) and
	# subordinate ids for this user.
	if [ "$(id -u)" != 0 ]; then
		local want=() ids
		command -v mmdebstrap >/dev/null || want+=(mmdebstrap)
		command -v newuidmap >/dev/null || want+=(uidmap)
		[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || want+=(debian-archive-keyring)
		if [ ${#want[@]} -gt 0 ]; then
			if as_root apt-get update -qq &&
				as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null; then
				note CI "installed ${want[*]}"
			else
				note CI "cannot install ${want[*]} (no root): the toolchain root cannot be made as $(id -un)"
			fi
		fi
		for ids in uid gid; do
			grep -q "^$(id -un):" "/etc/sub$ids" 2>/dev/null ||
				as_root usermod "--add-sub${ids}s" 300000-365535 "$(id -un)" ||
				note CI "cannot give $(id -un) subordinate ${ids}s (no root)"
		done
	fi
	if ! unshare --user --map-root-user true 2>/dev/null &&
		[ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then
		if as_root sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0; then
			note CI "user namespaces allowed (kernel.apparmor_restrict_unprivileged_userns=0)"
		else
			note CI "cannot allow user namespaces (no root)"
		fi
	fi
	note CI "KVM: $([ -w /dev/kvm ] && echo usable by this user || echo not usable by this user: guests run under TCG); user namespaces: $(unshare --user --map-root-user true 2>/dev/null && echo yes || echo no)"
	;;
*) die "usage: $0 keys [root] | setup" ;;
esac
}

main "$@"; exit

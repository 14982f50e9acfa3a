// SPDX-License-Identifier: GPL-2.0
/*
 * The C entry points of the rdynptr kfuncs.
 *
 * pahole skips Rust code when the kernel build generates BTF, and a kfunc
 * needs a BTF FUNC.  So each kfunc is a __bpf_kfunc C function that calls
 * its Rust implementation, rust_<kfunc>(); these functions are generated
 * from include/rdynptr/kfuncs.h (scripts/gen-kfuncs.py), so their BTF has
 * the header's types and parameter names.  See
 * Documentation/kfuncs-in-rust.rst.
 */

#include <linux/bpf.h>
#include <linux/btf.h>
#include <rdynptr/kfuncs.h>

/* The build decides about bpf_rdynptr_clone with a grep of linux/btf.h. */
#if defined(RDYNPTR_CLONE) != defined(KF_DYNPTR_CLONE)
#error "RDYNPTR_CLONE disagrees with KF_DYNPTR_CLONE in <linux/btf.h>"
#endif

__bpf_kfunc_start_defs();

#include "generated/kfuncs_entry.inc"

__bpf_kfunc_end_defs();

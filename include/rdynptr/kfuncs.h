/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rdynptr kfuncs: the single list of their names, types and parameter
 * names.
 *
 * A BPF program includes this header (after vmlinux.h or the uapi headers
 * and <bpf/bpf_helpers.h>) and sees `extern ... __ksym` declarations that
 * libbpf resolves against the rdynptr module's BTF.
 *
 * The kernel module includes it too: the build generates one C entry point
 * per prototype below (which gives the kfunc its BTF FUNC, with these
 * parameter names) and checks the Rust implementation against the
 * prototype; see Documentation/kfuncs-in-rust.rst.  Parameter names are
 * part of the interface: a suffix such as __uninit changes how the
 * verifier treats the argument.
 *
 * Keep each declaration in the form
 *
 *	RDYNPTR_KFUNC <return type> bpf_rdynptr_<name>(<type> <name>, ...);
 *
 * (RDYNPTR_KFUNC_OPTIONAL for a kfunc that the module may not provide):
 * the build parses it.  Semantics, errors and examples of every kfunc are
 * in Documentation/kfuncs.rst.
 */
#ifndef _RDYNPTR_KFUNCS_H
#define _RDYNPTR_KFUNCS_H

#if defined(__RDYNPTR_KFUNCS_LIST__)
/* Build step that lists the kfuncs for the generators: mark them only. */
#define RDYNPTR_KFUNC		__rdynptr_kfunc__
#define RDYNPTR_KFUNC_OPTIONAL	__rdynptr_kfunc__
#elif defined(__KERNEL__)
#include <linux/types.h>
struct bpf_dynptr;
#define RDYNPTR_KFUNC
#define RDYNPTR_KFUNC_OPTIONAL
#elif defined(__bpf__)
/*
 * libbpf resolves a kfunc declared in the .ksyms section.  A weak one may
 * be missing from the running kernel: guard its calls with
 * bpf_ksym_exists() and the program still loads.
 */
#define RDYNPTR_KFUNC		extern __attribute__((section(".ksyms")))
#define RDYNPTR_KFUNC_OPTIONAL	extern __attribute__((section(".ksyms"), weak))
#else
#error "<rdynptr/kfuncs.h> is for the rdynptr module and for BPF programs"
#endif

/* View adjustment: shrink the view from its end. */
RDYNPTR_KFUNC int bpf_rdynptr_trim(struct bpf_dynptr *p, __u64 len);

/* View adjustment: move the start of the view forward. */
RDYNPTR_KFUNC int bpf_rdynptr_advance(struct bpf_dynptr *p, __u64 len);

/* Queries. */
RDYNPTR_KFUNC bool bpf_rdynptr_is_null(const struct bpf_dynptr *p);
RDYNPTR_KFUNC bool bpf_rdynptr_is_rdonly(const struct bpf_dynptr *p);
RDYNPTR_KFUNC __s64 bpf_rdynptr_get_size(const struct bpf_dynptr *p);
RDYNPTR_KFUNC __s64 bpf_rdynptr_get_offset(const struct bpf_dynptr *p);

/*
 * A second view of the same data.  Needs the KF_DYNPTR_CLONE verifier
 * support (scripts/patches/); a module built for a kernel without it does
 * not provide this kfunc.
 */
#if !defined(__KERNEL__) || defined(RDYNPTR_CLONE)
RDYNPTR_KFUNC_OPTIONAL int bpf_rdynptr_clone(const struct bpf_dynptr *p,
					     struct bpf_dynptr *clone__uninit,
					     __u64 offset);
#endif

#undef RDYNPTR_KFUNC
#undef RDYNPTR_KFUNC_OPTIONAL

#endif /* _RDYNPTR_KFUNCS_H */

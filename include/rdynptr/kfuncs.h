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

/*
 * The iterator's state, on the program's stack; opaque (the module's
 * struct bpf_iter_rdynptr_kern).  The verifier's iterator rules need the
 * bpf_iter_ prefix and a size that is a multiple of 8.
 */
struct bpf_iter_rdynptr {
	__u64 __opaque[6];
} __attribute__((aligned(8)));

/*
 * One step of an iteration, as bpf_iter_rdynptr_next() returns it: LEN
 * bytes at offset OFF of the view the iterator walks (the offset that
 * bpf_dynptr_read() and bpf_dynptr_slice() take).
 */
struct bpf_rdynptr_step {
	__u64 off;
	__u64 len;
};

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

/*
 * The open-coded iterator over the view of a dynptr (see "Iterating over a
 * dynptr" in Documentation/kfuncs.rst):
 *
 *	struct bpf_iter_rdynptr it;
 *	struct bpf_rdynptr_step *s;
 *
 *	bpf_iter_rdynptr_new(&it, &p, chunk, 0);
 *	while ((s = bpf_iter_rdynptr_next(&it))) {
 *		... the s->len bytes at s->off of p's view ...
 *		bpf_iter_rdynptr_set_step(&it, n);	(optional: the next step
 *							 starts n bytes further)
 *	}
 *	bpf_iter_rdynptr_destroy(&it);
 *
 * or bpf_rdynptr_for_each(s, &p, chunk) { ... } below.  The verifier
 * enforces the kernel's iterator rules: new before next, destroy on every
 * path, no copy, no use after destroy.
 */
RDYNPTR_KFUNC int bpf_iter_rdynptr_new(struct bpf_iter_rdynptr *it,
				       const struct bpf_dynptr *p, __u64 chunk,
				       __u64 flags);
RDYNPTR_KFUNC struct bpf_rdynptr_step *bpf_iter_rdynptr_next(struct bpf_iter_rdynptr *it);
RDYNPTR_KFUNC void bpf_iter_rdynptr_destroy(struct bpf_iter_rdynptr *it);
RDYNPTR_KFUNC int bpf_iter_rdynptr_set_step(struct bpf_iter_rdynptr *it__iter, __u64 step);

#undef RDYNPTR_KFUNC
#undef RDYNPTR_KFUNC_OPTIONAL

#if defined(__bpf__)
/*
 * for (each step s of CHUNK bytes of the view of dynptr P) { ... }: a loop
 * over the view in fixed-size chunks (the last one may be shorter), with
 * the iterator created before and destroyed after it, in the spirit of
 * bpf_for_each().  bpf_rdynptr_for_each_it() also names the iterator, so
 * that the body can call bpf_iter_rdynptr_set_step(&IT, n) to walk
 * variable-length records.  Leaving the loop with break or return is fine:
 * the iterator is destroyed then too.
 */
#define bpf_rdynptr_for_each_it(it, s, p, chunk)				\
	for (struct bpf_iter_rdynptr it						\
		__attribute__((aligned(8), cleanup(bpf_iter_rdynptr_destroy))),	\
		*___p_##it __attribute__((unused)) = (				\
			bpf_iter_rdynptr_new(&it, (p), (chunk), 0),		\
			(void)bpf_iter_rdynptr_destroy, (void *)0);		\
	     ((s) = bpf_iter_rdynptr_next(&it));)

#define bpf_rdynptr_for_each(s, p, chunk)					\
	bpf_rdynptr_for_each_it(___rdynptr_it, s, p, chunk)

/*
 * The kernel's constructors of the dynptr types that are newer than the
 * oldest kernel series rdynptr supports (SKB_META and FILE came after 6.12),
 * declared as vmlinux.h of a newer kernel declares them: a program that uses
 * them then compiles against every series' vmlinux.h.  On a kernel without
 * them, guard their calls with bpf_ksym_exists(), or expect the program not
 * to load (rdynptr-test SKIPs such a test, naming the missing kfunc).
 */
struct file;
struct __sk_buff;
extern int bpf_dynptr_from_skb_meta(struct __sk_buff *skb_, __u64 flags,
				    struct bpf_dynptr *ptr__uninit)
	__attribute__((section(".ksyms"), weak));
extern int bpf_dynptr_from_file(struct file *file, __u32 flags,
				struct bpf_dynptr *ptr__uninit)
	__attribute__((section(".ksyms"), weak));
extern int bpf_dynptr_file_discard(struct bpf_dynptr *dynptr)
	__attribute__((section(".ksyms"), weak));
#endif

#endif /* _RDYNPTR_KFUNCS_H */

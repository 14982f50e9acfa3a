/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of the bench-only module rdynptr_twin (rdynptr_twin.c): C
 * twins of the rdynptr kfuncs, with the same semantics, so that
 * rdynptr-bench can set the Rust code next to the same work written in C
 * (Documentation/bench.rst).
 *
 * The module includes this header for the types; a BPF program (after
 * vmlinux.h and <bpf/bpf_helpers.h>) also gets the kfunc declarations.
 */
#ifndef _RDYNPTR_TWIN_H
#define _RDYNPTR_TWIN_H

/* The iterator: the same 48 opaque bytes as struct bpf_iter_rdynptr. */
struct bpf_iter_twin {
	__u64 __opaque[6];
} __attribute__((aligned(8)));

/* One step of the walk: LEN bytes at offset OFF of the view. */
struct bpf_twin_step {
	__u64 off;
	__u64 len;
};

#if defined(__bpf__)
/* __ksym and __weak: <bpf/bpf_helpers.h>. */
extern int bpf_twin_trim(struct bpf_dynptr *p, __u64 len) __ksym;
extern int bpf_twin_advance(struct bpf_dynptr *p, __u64 len) __ksym;
extern bool bpf_twin_is_null(const struct bpf_dynptr *p) __ksym;
extern bool bpf_twin_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern __s64 bpf_twin_get_size(const struct bpf_dynptr *p) __ksym;
extern __s64 bpf_twin_get_offset(const struct bpf_dynptr *p) __ksym;
/* Only where the kernel has KF_DYNPTR_CLONE, as bpf_rdynptr_clone(). */
extern int bpf_twin_clone(const struct bpf_dynptr *p,
			  struct bpf_dynptr *clone__uninit,
			  __u64 offset) __ksym __weak;

extern int bpf_iter_twin_new(struct bpf_iter_twin *it, const struct bpf_dynptr *p,
			     __u64 chunk, __u64 flags) __ksym;
extern struct bpf_twin_step *bpf_iter_twin_next(struct bpf_iter_twin *it) __ksym;
extern void bpf_iter_twin_destroy(struct bpf_iter_twin *it) __ksym;
extern int bpf_iter_twin_set_step(struct bpf_iter_twin *it__iter, __u64 step) __ksym;

/* bpf_rdynptr_for_each() of <rdynptr/kfuncs.h>, over the twin iterator. */
#define bpf_twin_for_each(s, p, chunk)						\
	for (struct bpf_iter_twin ___twin_it					\
		__attribute__((aligned(8), cleanup(bpf_iter_twin_destroy))),	\
		*___twin_p __attribute__((unused)) = (				\
			bpf_iter_twin_new(&___twin_it, (p), (chunk), 0),	\
			(void)bpf_iter_twin_destroy, (void *)0);		\
	     ((s) = bpf_iter_twin_next(&___twin_it));)
#endif /* __bpf__ */

#endif /* _RDYNPTR_TWIN_H */

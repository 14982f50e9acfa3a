// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_fail: what the verifier rejects (and, for contrast, accepts)
 * around the non-clone kfuncs bpf_rdynptr_trim(), bpf_rdynptr_advance(),
 * bpf_rdynptr_is_null(), bpf_rdynptr_is_rdonly(), bpf_rdynptr_get_size()
 * and bpf_rdynptr_get_offset().
 *
 * What this suite proves: each kfunc's dynptr argument gets the kernel's
 * dynptr argument checking, with the verifier's own messages (where 6.12
 * words them differently, "arg #0" instead of "R1" for instance, the
 * expected message is a {{regex}} that takes both wordings):
 *  - an uninitialized (zeroed, clobbered, or only conditionally
 *    initialized) dynptr is refused: "Expected an initialized dynptr as R1";
 *  - so is a dynptr used after its ringbuf record was submitted or
 *    discarded;
 *  - a pointer that is not a stack dynptr (global data, the program
 *    context, a misaligned stack address, NULL) is refused;
 *  - the length must be a scalar;
 *  - the kfuncs neither release a ringbuf reference ("Unreleased
 *    reference") nor revive a slice invalidated by a release, nor make a
 *    read-only packet slice writable;
 *  - and they do not invalidate packet slices either (a __success case).
 *
 * Ported seed cases: dynptr_is_null_invalid, dynptr_is_rdonly_invalid,
 * dynptr_get_size_invalid, dynptr_get_offset_invalid (plus the same for
 * trim and advance).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ringbuf SEC(".maps");

/* A struct bpf_dynptr in global data is map memory, not a dynptr. */
struct bpf_dynptr global_dynptr;

/* Memory for local dynptrs: 7.3 only takes map values (global data). */
__u8 mem[16];

/* Opaque to the verifier: decides which path a program takes. */
volatile int knob;

int sink;

/* --- uninitialized dynptrs ------------------------------------------- */

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int trim_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	bpf_rdynptr_trim(&p, 1);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int advance_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	bpf_rdynptr_advance(&p, 1);
	return 0;
}

/* seed: dynptr_is_null_invalid */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int dynptr_is_null_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	sink = bpf_rdynptr_is_null(&p);
	return 0;
}

/* seed: dynptr_is_rdonly_invalid */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int dynptr_is_rdonly_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	sink = bpf_rdynptr_is_rdonly(&p);
	return 0;
}

/* seed: dynptr_get_size_invalid */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int dynptr_get_size_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	sink = bpf_rdynptr_get_size(&p);
	return 0;
}

/* seed: dynptr_get_offset_invalid */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int dynptr_get_offset_invalid(void *ctx)
{
	struct bpf_dynptr p = {};

	sink = bpf_rdynptr_get_offset(&p);
	return 0;
}

/* Initialized on one path only. */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int maybe_initialized(void *ctx)
{
	struct bpf_dynptr p;

	if (knob)
		bpf_dynptr_from_mem(mem, sizeof(mem), 0, &p);
	bpf_rdynptr_advance(&p, 1);
	return 0;
}

/* A plain stack store into a local dynptr destroys it. */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int clobbered_dynptr(void *ctx)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(mem, sizeof(mem), 0, &p);
	*(volatile __u8 *)&p = 0;
	sink = bpf_rdynptr_get_size(&p);
	return 0;
}

/* --- use after release ------------------------------------------------- */

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int trim_after_submit(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_submit_dynptr(&p, 0);
	bpf_rdynptr_trim(&p, 1);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int advance_after_discard(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	bpf_rdynptr_advance(&p, 1);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int is_null_after_submit(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_submit_dynptr(&p, 0);
	sink = bpf_rdynptr_is_null(&p);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int is_rdonly_after_discard(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	sink = bpf_rdynptr_is_rdonly(&p);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int get_size_after_submit(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_submit_dynptr(&p, 0);
	sink = bpf_rdynptr_get_size(&p);
	return 0;
}

SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int get_offset_after_discard(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	sink = bpf_rdynptr_get_offset(&p);
	return 0;
}

/* --- not a dynptr ------------------------------------------------------ */

SEC("?syscall")
__failure __msg("{{R1|arg#0}} expected pointer to stack or const struct bpf_dynptr")
int trim_global_dynptr(void *ctx)
{
	bpf_rdynptr_trim(&global_dynptr, 1);
	return 0;
}

SEC("?syscall")
__failure __msg("{{R1|arg#0}} expected pointer to stack or const struct bpf_dynptr")
int get_offset_global_dynptr(void *ctx)
{
	sink = bpf_rdynptr_get_offset(&global_dynptr);
	return 0;
}

SEC("?tc")
__failure __msg("{{R1|arg#0}} expected pointer to stack or const struct bpf_dynptr")
int is_rdonly_ctx(struct __sk_buff *skb)
{
	sink = bpf_rdynptr_is_rdonly((struct bpf_dynptr *)skb);
	return 0;
}

SEC("?syscall")
__failure __msg("{{Possibly NULL pointer passed to trusted R1|arg#0 expected pointer to stack or const struct bpf_dynptr}}")
int get_size_null_pointer(void *ctx)
{
	sink = bpf_rdynptr_get_size(NULL);
	return 0;
}

/* A stack address inside a valid dynptr is not that dynptr. */
SEC("?syscall")
__failure __msg("cannot pass in dynptr at an offset=")
int advance_misaligned(void *ctx)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(mem, sizeof(mem), 0, &p);
	bpf_rdynptr_advance((struct bpf_dynptr *)((char *)&p + 1), 1);
	return 0;
}

SEC("?syscall")
__failure __msg("R2 is not a scalar")
int trim_pointer_len(void *ctx)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(mem, sizeof(mem), 0, &p);
	bpf_rdynptr_trim(&p, (__u64)(long)mem);
	return 0;
}

SEC("?syscall")
__failure __msg("R2 is not a scalar")
int advance_pointer_len(void *ctx)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(mem, sizeof(mem), 0, &p);
	bpf_rdynptr_advance(&p, (__u64)(long)&global_dynptr);
	return 0;
}

/* --- references and slices --------------------------------------------- */

/* None of the kfuncs releases the record. */
SEC("?syscall")
__failure __msg("Unreleased reference id=")
int ringbuf_not_released(void *ctx)
{
	struct bpf_dynptr p;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	bpf_rdynptr_advance(&p, 1);
	bpf_rdynptr_trim(&p, 1);
	sink = bpf_rdynptr_is_null(&p) + bpf_rdynptr_is_rdonly(&p) +
	       bpf_rdynptr_get_size(&p) + bpf_rdynptr_get_offset(&p);
	return 0;
}

/* Adjusting the view does not keep a slice alive past the release. */
SEC("?syscall")
__failure __msg("invalid mem access 'scalar'")
int slice_after_release(void *ctx)
{
	struct bpf_dynptr p;
	__u32 *s;

	bpf_ringbuf_reserve_dynptr(&ringbuf, 16, 0, &p);
	s = bpf_dynptr_data(&p, 0, sizeof(*s));
	if (!s) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 0;
	}
	bpf_rdynptr_advance(&p, 4);
	bpf_rdynptr_trim(&p, 4);
	bpf_ringbuf_discard_dynptr(&p, 0);
	*s = 1;
	return 0;
}

/* Slices of a read-only skb dynptr stay read-only after an adjustment. */
SEC("?cgroup_skb/ingress")
__failure __msg("cannot write into rdonly_mem")
int rdonly_slice_after_advance(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	__u8 buf[2], *s;

	bpf_dynptr_from_skb(skb, 0, &p);
	bpf_rdynptr_advance(&p, 12);
	s = bpf_dynptr_slice(&p, 0, buf, sizeof(buf));
	if (!s)
		return 1;
	s[0] = 0;
	return 1;
}

/*
 * The kfuncs do not change packet data, so the verifier keeps packet
 * slices valid across them, and the slice still addresses the bytes it
 * was taken at, not the adjusted start.
 */
SEC("?tc")
__success __retval(0)
int slice_survives_kfuncs(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	__u8 buf[2], b;
	__u8 *s;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 1;
	s = bpf_dynptr_slice_rdwr(&p, 0, buf, sizeof(buf));
	if (!s)
		return 2;
	if (bpf_rdynptr_advance(&p, 1) || bpf_rdynptr_trim(&p, 1))
		return 3;
	if (bpf_rdynptr_get_size(&p) < 0 || bpf_rdynptr_get_offset(&p) != 1 ||
	    bpf_rdynptr_is_null(&p) || bpf_rdynptr_is_rdonly(&p))
		return 4;
	s[1] = 0xa5;
	/* byte 1 of the packet is byte 0 of the advanced view */
	if (bpf_dynptr_read(&b, 1, &p, 0, 0))
		return 5;
	if (b != 0xa5)
		return 6;
	return 0;
}

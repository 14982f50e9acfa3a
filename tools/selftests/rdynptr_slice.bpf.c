// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_slice: the kernel's slices (bpf_dynptr_slice(),
 * bpf_dynptr_slice_rdwr(), bpf_dynptr_data()) of views that the rdynptr
 * kfuncs made.  bpf_dynptr_slice() succeeds the seed's
 * bpf_dynptr_data_rdonly(); a slice's offset is relative to the view, and
 * the view bounds it.
 *
 * What this suite proves, for every dynptr type that has data under
 * BPF_PROG_TEST_RUN or an attached program:
 *  - a slice at offset 0 of an advanced view starts at the view's offset
 *    in the data; a slice that reaches the end of a trimmed view works,
 *    one byte further is refused (NULL) although the data goes on;
 *  - writes through a read-write slice land at the view's offset in the
 *    data, as a second dynptr over the whole data reads them;
 *  - a clone at an offset slices from its own view, and the parent's
 *    slices are unchanged;
 *  - a slice taken before a trim or advance stays valid (the verifier
 *    does not invalidate it, and the data did not move);
 *  - non-linear skb and multi-buffer xdp: a slice across the end of the
 *    linear part of an advanced view is copied into the buffer, with the
 *    right bytes; without a buffer it is refused, while a slice inside the
 *    linear part is a direct pointer;
 *  - read-only skb (cgroup_skb): slices of an adjusted view read the right
 *    bytes; bpf_dynptr_slice_rdwr() is refused by the verifier;
 *  - FILE: slices of an adjusted view copy the file's bytes at the view,
 *    and the view's end bounds them.
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check (cgroup_skb ones record it in cg_err, the FILE one in file_err:
 * __result(VAR)).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>
#include "rdynptr_common.h"

char _license[] SEC("license") = "GPL";

#define PKT_LEN		RDYNPTR_TEST_PKT_LEN
#define ETH_LEN		RDYNPTR_TEST_PKT_ETH_LEN
#define PAYLOAD_OFF	RDYNPTR_TEST_PKT_PAYLOAD_OFF
#define SL		4	/* the length of most slices here */

__u8 buf[BUF_SZ];

/* The failed check of a cgroup_skb program (-1: it did not run). */
int cg_err = -1;

/*
 * The SL-byte slice at @off of @p must hold the SL bytes at @at of @ref
 * (a dynptr over all of the data): 0 or @base + the failed check.
 */
static __always_inline int slice_is(const struct bpf_dynptr *p, __u64 off,
				    const struct bpf_dynptr *ref, __u64 at, int base)
{
	__u8 tmp[SL], want[SL], *s;
	int i;

	s = bpf_dynptr_slice(p, off, tmp, sizeof(tmp));
	if (!s)
		return base + 1;
	if (bpf_dynptr_read(want, sizeof(want), ref, at, 0))
		return base + 2;
	for (i = 0; i < SL; i++)
		if (s[i] != want[i])
			return base + 3;
	return 0;
}

/*
 * Advances @p by @adv and trims it to @size bytes, then checks its slices
 * against @ref: the first SL bytes, the last SL bytes, and the refusal one
 * byte further.
 */
static __always_inline int adjusted_slices(struct bpf_dynptr *p, const struct bpf_dynptr *ref,
					   __u64 adv, __u64 size, int base)
{
	__u8 tmp[SL];
	__s64 full = bpf_rdynptr_get_size(p);

	if (full < 0 || adv + size > (__u64)full)
		return base + 1;
	if (bpf_rdynptr_advance(p, adv) || bpf_rdynptr_trim(p, full - adv - size))
		return base + 2;
	if (slice_is(p, 0, ref, adv, base + 10))
		return base + 10;
	if (slice_is(p, size - SL, ref, adv + size - SL, base + 20))
		return base + 20;
	if (bpf_dynptr_slice(p, size - SL + 1, tmp, sizeof(tmp)))
		return base + 3;
	return 0;
}

SEC("?tc")
__description("slice: local views bound the kernel's slices and bpf_dynptr_data()")
__success __retval(0)
int slice_local_adjusted_view(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;
	__u8 *d;
	int err;

	fill(buf);
	bpf_dynptr_from_mem(buf, sizeof(buf), 0, &p);
	bpf_dynptr_from_mem(buf, sizeof(buf), 0, &ref);
	err = adjusted_slices(&p, &ref, 7, 40, 100);
	if (err)
		return err;
	/* the same bounds for bpf_dynptr_data(), a direct pointer */
	d = bpf_dynptr_data(&p, 36, SL);
	if (!d || d[0] != PAT(43))
		return 1;
	if (bpf_dynptr_data(&p, 37, SL))
		return 2;
	/* a write through a read-write slice lands at the view's offset */
	d = bpf_dynptr_slice_rdwr(&p, 1, NULL, SL);
	if (!d)
		return 3;
	d[0] = 0xa5;
	if (buf[8] != 0xa5)
		return 4;
	return 0;
}

SEC("?tc")
__description("slice: a slice taken before a trim or advance stays valid")
__success __retval(0)
int slice_outlives_view_changes(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	__u8 *d;

	fill(buf);
	bpf_dynptr_from_mem(buf, sizeof(buf), 0, &p);
	d = bpf_dynptr_data(&p, 8, SL);
	if (!d)
		return 1;
	if (bpf_rdynptr_advance(&p, 16) || bpf_rdynptr_trim(&p, BUF_SZ - 16))
		return 2;
	/* the view is empty now; the slice still points at bytes 8..11 */
	if (bpf_dynptr_data(&p, 0, 1))
		return 3;
	return d[0] == PAT(8) && d[3] == PAT(11) ? 0 : 4;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

SEC("?tc")
__description("slice: ring buffer views bound slices; writes land in the record at the view")
__success __retval(0)
int slice_ringbuf_adjusted_view(struct __sk_buff *skb)
{
	struct bpf_dynptr p, whole;
	__u8 *d, b = 0;
	int err;

	fill(buf);
	if (bpf_ringbuf_reserve_dynptr(&rb, BUF_SZ, 0, &p)) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 1;
	}
	bpf_dynptr_write(&p, 0, buf, BUF_SZ, 0);
	/* a clone of the whole record, made before the view changes */
	bpf_dynptr_clone(&p, &whole);
	err = adjusted_slices(&p, &whole, 16, 32, 200);
	if (!err) {
		d = bpf_dynptr_slice_rdwr(&p, 2, NULL, SL);
		if (!d)
			err = 2;
		else
			d[0] = 0x5a;
	}
	if (!err && (bpf_dynptr_read(&b, 1, &whole, 18, 0) || b != 0x5a))
		err = 3;
	bpf_ringbuf_discard_dynptr(&p, 0);
	return err;
}

SEC("?tc")
__description("slice: a clone at an offset slices its own view, the parent's are unchanged")
__needs_kfunc("bpf_rdynptr_clone")
__success __retval(0)
int slice_clone_at_offset(struct __sk_buff *skb)
{
	struct bpf_dynptr p, c, ref;
	__u8 tmp[SL];
	int err;

	if (!bpf_ksym_exists(bpf_rdynptr_clone))
		return 1;
	fill(buf);
	bpf_dynptr_from_mem(buf, sizeof(buf), 0, &p);
	bpf_dynptr_from_mem(buf, sizeof(buf), 0, &ref);
	if (bpf_rdynptr_clone(&p, &c, 20))
		return 2;
	err = slice_is(&c, 0, &ref, 20, 10) ?: slice_is(&p, 0, &ref, 0, 20);
	if (err)
		return err;
	/* the clone ends where the parent does */
	if (slice_is(&c, BUF_SZ - 20 - SL, &ref, BUF_SZ - SL, 30))
		return 30;
	if (bpf_dynptr_slice(&c, BUF_SZ - 20 - SL + 1, tmp, sizeof(tmp)))
		return 3;
	/* trimming the clone bounds its slices, not the parent's */
	if (bpf_rdynptr_trim(&c, 10))
		return 4;
	if (bpf_dynptr_slice(&c, BUF_SZ - 30 - SL + 1, tmp, sizeof(tmp)))
		return 5;
	return slice_is(&p, BUF_SZ - SL, &ref, BUF_SZ - SL, 40);
}

SEC("?tc")
__description("slice: skb views bound slices; a read-write slice writes the packet at the view")
__success __retval(0)
int slice_skb_adjusted_view(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;
	__u8 *d, b = 0;
	int err;

	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref))
		return 1;
	err = adjusted_slices(&p, &ref, ETH_LEN, 20, 100);
	if (err)
		return err;
	/* the IPv4 version nibble, at offset 0 of the view */
	d = bpf_dynptr_slice_rdwr(&p, 0, NULL, SL);
	if (!d || (d[0] >> 4) != 4)
		return 2;
	/* TOS, written through the slice, is packet byte ETH_LEN + 1 */
	d[1] = 0x3c;
	if (bpf_dynptr_read(&b, 1, &ref, ETH_LEN + 1, 0) || b != 0x3c)
		return 3;
	return 0;
}

/*
 * @p's view starts @at bytes into the packet that @ref shows from 0, SL
 * bytes before the end of the part the kernel can point into (the linear
 * part, the first buffer): a slice inside it is a direct pointer, a longer
 * one without a buffer is refused, and with a buffer it is copied there,
 * with the bytes at the view.  0 or the failed check.
 */
static __always_inline int copied_slice(const struct bpf_dynptr *p,
					const struct bpf_dynptr *ref, __u64 at)
{
	__u8 tmp[2 * SL], want[2 * SL], *s;
	int i;

	if (!bpf_dynptr_slice(p, 0, NULL, SL))
		return 2;
	if (bpf_dynptr_slice(p, 0, NULL, sizeof(tmp)))
		return 3;
	s = bpf_dynptr_slice(p, 0, tmp, sizeof(tmp));
	if (!s || s != tmp)
		return 4;
	if (bpf_dynptr_read(want, sizeof(want), ref, at, 0))
		return 5;
	for (i = 0; i < (int)sizeof(want); i++)
		if (s[i] != want[i])
			return 6;
	return 0;
}

SEC("?tc")
__description("slice: non-linear skb, a slice across the linear end of an advanced view is copied")
__linear_size(34)
__success __retval(0)
int slice_skb_nonlinear_view(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;
	int err;

	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref))
		return 1;
	/* the view starts at 30: bytes 0..3 are linear, 4.. are paged */
	err = adjusted_slices(&p, &ref, 30, PKT_LEN - 30 - 2, 100);
	return err ?: copied_slice(&p, &ref, 30);
}

SEC("?xdp")
__description("slice: xdp views bound slices; a read-write slice writes the packet at the view")
__success __retval(0)
int slice_xdp_adjusted_view(struct xdp_md *xdp)
{
	struct bpf_dynptr p, ref;
	__u8 *d, b = 0;
	int err;

	if (bpf_dynptr_from_xdp(xdp, 0, &p) || bpf_dynptr_from_xdp(xdp, 0, &ref))
		return 1;
	err = adjusted_slices(&p, &ref, PAYLOAD_OFF, 8, 100);
	if (err)
		return err;
	d = bpf_dynptr_slice_rdwr(&p, 0, NULL, SL);
	if (!d || d[0] != RDYNPTR_TEST_PKT_PAYLOAD[0])
		return 2;
	d[3] = 0x77;
	if (bpf_dynptr_read(&b, 1, &ref, PAYLOAD_OFF + 3, 0) || b != 0x77)
		return 3;
	return 0;
}

SEC("?xdp.frags")
__description("slice: multi-buffer xdp, a slice across the first buffer's end is copied")
__linear_size(20)
__success __retval(0)
int slice_xdp_frags_view(struct xdp_md *xdp)
{
	struct bpf_dynptr p, ref;
	int err;

	if (bpf_dynptr_from_xdp(xdp, 0, &p) || bpf_dynptr_from_xdp(xdp, 0, &ref))
		return 1;
	/* the view starts at 16: bytes 0..3 in the first buffer, 4.. in a frag */
	err = adjusted_slices(&p, &ref, 16, 24, 100);
	return err ?: copied_slice(&p, &ref, 16);
}

SEC("?cgroup_skb/ingress")
__description("slice: read-only skb views bound slices (cgroup_skb)")
__success __result(cg_err) __retval(0)
int slice_skb_rdonly_view(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;
	const __u8 *s;

	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref)) {
		cg_err = 1;
		return 1;
	}
	/* cgroup_skb sees the packet from the IPv4 header: 12 is the saddr */
	cg_err = adjusted_slices(&p, &ref, 12, 8, 100);
	if (!cg_err) {
		s = bpf_dynptr_slice(&p, 0, NULL, SL);
		if (!s || s[0] != (__u8)(RDYNPTR_TEST_PKT_SADDR >> 24) ||
		    s[3] != (__u8)RDYNPTR_TEST_PKT_SADDR)
			cg_err = 2;
	}
	return 1;
}

SEC("?cgroup_skb/ingress")
__description("slice: no read-write slice of a read-only skb view (verifier)")
__failure __msg("the prog does not allow writes to packet data")
int slice_skb_rdonly_view_rdwr(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	__u8 *s;

	bpf_dynptr_from_skb(skb, 0, &p);
	bpf_rdynptr_advance(&p, 12);
	s = bpf_dynptr_slice_rdwr(&p, 0, NULL, SL);
	if (s)
		s[0] = 0;
	return 1;
}

int file_err = -1;

SEC("?lsm/file_open")
__description("slice: FILE views bound slices, which copy the file's bytes at the view")
__trigger("open") __result(file_err)
__success __retval(0)
int BPF_PROG(slice_file_adjusted_view, struct file *file)
{
	struct bpf_dynptr p;
	__u8 tmp[8], *s;
	int err = 0, i;

	if (!test_file(file, &p)) {
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	/* the view [4090, 4110): across the file's first page boundary */
	if (bpf_rdynptr_advance(&p, 4090) || bpf_rdynptr_trim(&p, ~0ULL - 4090 - 20))
		err = 1;
	if (!err) {
		s = bpf_dynptr_slice(&p, 0, tmp, sizeof(tmp));
		if (!s)
			err = 2;
		for (i = 0; !err && i < (int)sizeof(tmp); i++)
			if (s[i] != RDYNPTR_TEST_FILE_BYTE(4090 + i))
				err = 3;
	}
	if (!err) {
		s = bpf_dynptr_slice(&p, 12, tmp, sizeof(tmp));
		if (!s || s[7] != RDYNPTR_TEST_FILE_BYTE(4090 + 19))
			err = 4;
	}
	if (!err && bpf_dynptr_slice(&p, 13, tmp, sizeof(tmp)))
		err = 5;
	file_err = err;
	bpf_dynptr_file_discard(&p);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_types: the non-clone kfuncs on the packet-backed and special
 * dynptr types (local and ringbuf dynptrs are covered by rdynptr_adjust).
 *
 * What this suite proves:
 *  - skb (tc, writable), skb (cgroup_skb, read-only), xdp: advance/trim
 *    move the view over the harness's test packet: after advancing by 12
 *    the first two bytes are the IPv4 ethertype (for cgroup_skb, which sees
 *    the packet from the IP header on, the view is the source address),
 *    equal to what a second, unadjusted dynptr reads there; advancing to
 *    the payload shows the harness's payload; reads, writes and slices
 *    through the adjusted view hit the right packet bytes; one byte past
 *    the new end is out of range for the kernel; boundary lengths
 *    (size + 1, 2^32, 2^32 + size, 2^64 - 1) fail with -ERANGE and change
 *    nothing;
 *  - read-only stays read-only through advance/trim (ours and the kernel's
 *    is_rdonly, and bpf_dynptr_write() still fails with -EINVAL);
 *  - skb_meta (tc; BPF_PROG_TEST_RUN gives no metadata): the empty view
 *    takes only zero-length adjustments;
 *  - null skb, xdp and skb_meta dynptrs (unsupported flags) give -EINVAL;
 *  - a const dynptr handed to a bpf_user_ringbuf_drain() callback is
 *    accepted by every non-clone kfunc (load only: the ring is empty);
 *  - FILE dynptrs are in rdynptr_file.
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check; cgroup_skb programs may only return 0 or 1, so they record the
 * failed check (or 0) in the global cg_err, which __result(cg_err) makes
 * the value that __retval(0) checks.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

#define U32_OVER	(1ULL << 32)
#define U64_MAX_LEN	(~0ULL)

#define ETH_HLEN_	RDYNPTR_TEST_PKT_ETH_LEN
#define ETH_TYPE_OFF	12	/* ethertype, 0x0800 for IPv4 */
#define PKT_LEN		RDYNPTR_TEST_PKT_LEN
#define PAYLOAD_OFF	RDYNPTR_TEST_PKT_PAYLOAD_OFF
#define PAYLOAD_LEN	RDYNPTR_TEST_PKT_PAYLOAD_LEN
/* what cgroup_skb programs see: the packet from the IPv4 header on */
#define L3_PKT_LEN	(PKT_LEN - ETH_HLEN_)
#define IP_SADDR_OFF	12	/* IPv4 source address, within the IP header */
/* byte i of the source address, in network order */
#define SADDR_BYTE(i)	((__u8)(RDYNPTR_TEST_PKT_SADDR >> (24 - 8 * (i))))

/* The failed check of a cgroup_skb program (-1: it did not run). */
int cg_err = -1;

/*
 * @p shows [@off, @off + @size) of the packet that @ref shows from 0, to
 * our kfuncs and to the kernel: returns 0 or @base + the failed check.
 */
static __always_inline int check_pkt_view(const struct bpf_dynptr *p,
					  const struct bpf_dynptr *ref,
					  __u64 off, __u64 size, int base)
{
	__u8 a, b;

	if (bpf_rdynptr_get_offset(p) != (__s64)off)
		return base + 1;
	if (bpf_rdynptr_get_size(p) != (__s64)size)
		return base + 2;
	if (bpf_dynptr_size(p) != size)
		return base + 3;
	if (size) {
		if (bpf_dynptr_read(&a, 1, p, 0, 0) ||
		    bpf_dynptr_read(&b, 1, ref, off, 0))
			return base + 4;
		if (a != b)
			return base + 5;
		if (bpf_dynptr_read(&a, 1, p, size - 1, 0) ||
		    bpf_dynptr_read(&b, 1, ref, off + size - 1, 0))
			return base + 6;
		if (a != b)
			return base + 7;
	}
	if (bpf_dynptr_read(&a, 1, p, size, 0) != -E2BIG)
		return base + 8;
	return 0;
}

/* The first two bytes of @p are the IPv4 ethertype. */
static __always_inline int check_ethertype(const struct bpf_dynptr *p, int base)
{
	__u8 t[2];

	if (bpf_dynptr_read(t, sizeof(t), p, 0, 0))
		return base + 1;
	if (t[0] != 0x08 || t[1] != 0x00)
		return base + 2;
	return 0;
}

/*
 * Advancing to the test packet's payload (at @off) shows exactly the
 * payload the harness put there; trimming cuts it from the end.
 */
static __always_inline int check_payload(struct bpf_dynptr *p, __u64 off,
					 int base)
{
	const char want[] = RDYNPTR_TEST_PKT_PAYLOAD;
	char got[PAYLOAD_LEN];
	int i;

	if (bpf_rdynptr_advance(p, off))
		return base + 1;
	if (bpf_rdynptr_get_size(p) != PAYLOAD_LEN)
		return base + 2;
	if (bpf_dynptr_read(got, PAYLOAD_LEN, p, 0, 0))
		return base + 3;
	for (i = 0; i < PAYLOAD_LEN; i++)
		if (got[i] != want[i])
			return base + 4;
	if (bpf_rdynptr_trim(p, PAYLOAD_LEN - 2))
		return base + 5;
	if (bpf_dynptr_read(got, 3, p, 0, 0) != -E2BIG)
		return base + 6;
	if (bpf_dynptr_read(got, 2, p, 0, 0) || got[0] != want[0] ||
	    got[1] != want[1])
		return base + 7;
	return 0;
}

/*
 * Shared by skb and xdp: @p and @ref are fresh dynptrs over the same
 * packet of @len bytes.
 */
static __always_inline int pkt_advance_trim(struct bpf_dynptr *p,
					    const struct bpf_dynptr *ref,
					    __u64 len)
{
	__u64 rest = len - ETH_TYPE_OFF;
	int err;

	err = check_pkt_view(p, ref, 0, len, 10);
	if (err)
		return err;

	if (bpf_rdynptr_advance(p, ETH_TYPE_OFF))
		return 20;
	err = check_pkt_view(p, ref, ETH_TYPE_OFF, rest, 20) ?:
	      check_ethertype(p, 30);
	if (err)
		return err;

	/* too long by any measure: -ERANGE, view unchanged */
	if (bpf_rdynptr_advance(p, rest + 1) != -ERANGE)
		return 40;
	if (bpf_rdynptr_advance(p, U32_OVER) != -ERANGE)
		return 41;
	if (bpf_rdynptr_advance(p, U32_OVER + rest) != -ERANGE)
		return 42;
	if (bpf_rdynptr_trim(p, rest + 1) != -ERANGE)
		return 43;
	if (bpf_rdynptr_trim(p, U32_OVER + 1) != -ERANGE)
		return 44;
	if (bpf_rdynptr_trim(p, U64_MAX_LEN) != -ERANGE)
		return 45;
	err = check_pkt_view(p, ref, ETH_TYPE_OFF, rest, 50);
	if (err)
		return err;

	/* keep just the ethertype */
	if (bpf_rdynptr_trim(p, rest - 2))
		return 60;
	err = check_pkt_view(p, ref, ETH_TYPE_OFF, 2, 60) ?:
	      check_ethertype(p, 70);
	if (err)
		return err;

	if (bpf_rdynptr_advance(p, 2))
		return 80;
	return check_pkt_view(p, ref, ETH_HLEN_, 0, 80);
}

SEC("?tc")
__success __retval(0)
int skb_advance_trim(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;

	if (skb->len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref))
		return 2;
	if (bpf_rdynptr_is_rdonly(&p))
		return 3;
	return pkt_advance_trim(&p, &ref, skb->len) ?:
	       check_payload(&ref, PAYLOAD_OFF, 100);
}

SEC("?xdp")
__success __retval(0)
int xdp_advance_trim(struct xdp_md *xdp)
{
	__u64 len = bpf_xdp_get_buff_len(xdp);
	struct bpf_dynptr p, ref;

	if (len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_xdp(xdp, 0, &p) || bpf_dynptr_from_xdp(xdp, 0, &ref))
		return 2;
	if (bpf_rdynptr_is_rdonly(&p))
		return 3;
	return pkt_advance_trim(&p, &ref, len) ?:
	       check_payload(&ref, PAYLOAD_OFF, 100);
}

/*
 * Writes and slices through an advanced, trimmed view reach the right
 * packet bytes: the view is the 2-byte IPv4 header start (version/IHL and
 * TOS) at offset 14.
 */
static __always_inline int pkt_write_slice(struct bpf_dynptr *p,
					   const struct bpf_dynptr *ref,
					   __u64 len)
{
	__u8 tos = 0x5a, w[2], got, next, buf[2];
	__u8 *s;

	/* the byte right after the view, and something else to write there */
	if (bpf_dynptr_read(&next, 1, ref, ETH_HLEN_ + 2, 0))
		return 5;
	w[0] = tos;
	w[1] = next ^ 0xff;

	if (bpf_rdynptr_advance(p, ETH_HLEN_) ||
	    bpf_rdynptr_trim(p, len - ETH_HLEN_ - 2))
		return 10;
	if (bpf_rdynptr_get_size(p) != 2)
		return 11;

	/* the IPv4 version nibble, seen through the view */
	if (bpf_dynptr_read(&got, 1, p, 0, 0))
		return 20;
	if ((got >> 4) != 4)
		return 21;

	/* TOS, written through the view, lands at packet offset 15 */
	if (bpf_dynptr_write(p, 1, &tos, 1, 0))
		return 30;
	if (bpf_dynptr_read(&got, 1, ref, ETH_HLEN_ + 1, 0))
		return 31;
	if (got != tos)
		return 32;
	/* and nothing is written past the view's end */
	if (bpf_dynptr_write(p, 1, w, sizeof(w), 0) != -E2BIG)
		return 33;
	if (bpf_dynptr_read(buf, 2, ref, ETH_HLEN_ + 1, 0))
		return 34;
	if (buf[0] != tos || buf[1] != next)
		return 35;

	/* a read-write slice of the view starts at the new offset */
	s = bpf_dynptr_slice_rdwr(p, 0, buf, sizeof(buf));
	if (!s)
		return 40;
	if ((s[0] >> 4) != 4 || s[1] != tos)
		return 41;
	/* a slice longer than the view is refused */
	if (bpf_dynptr_slice(p, 1, buf, sizeof(buf)))
		return 42;
	return 0;
}

SEC("?tc")
__success __retval(0)
int skb_write_slice_adjusted(struct __sk_buff *skb)
{
	struct bpf_dynptr p, ref;

	if (skb->len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref))
		return 2;
	return pkt_write_slice(&p, &ref, skb->len);
}

SEC("?xdp")
__success __retval(0)
int xdp_write_slice_adjusted(struct xdp_md *xdp)
{
	__u64 len = bpf_xdp_get_buff_len(xdp);
	struct bpf_dynptr p, ref;

	if (len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_xdp(xdp, 0, &p) || bpf_dynptr_from_xdp(xdp, 0, &ref))
		return 2;
	return pkt_write_slice(&p, &ref, len);
}

/*
 * cgroup_skb programs see the packet from the network header on: the test
 * packet without its Ethernet header. The view is narrowed to the IPv4
 * source address.
 */
static __always_inline int skb_rdonly_body(struct __sk_buff *skb)
{
	__u8 w = 0, buf[4];
	struct bpf_dynptr p, ref;
	__u64 len = skb->len;
	__u8 *s;
	int err;

	if (len != L3_PKT_LEN)
		return 1;
	if (bpf_dynptr_from_skb(skb, 0, &p) || bpf_dynptr_from_skb(skb, 0, &ref))
		return 2;
	if (!bpf_rdynptr_is_rdonly(&p))
		return 3;

	if (bpf_rdynptr_advance(&p, IP_SADDR_OFF) ||
	    bpf_rdynptr_trim(&p, len - IP_SADDR_OFF - 4))
		return 10;
	err = check_pkt_view(&p, &ref, IP_SADDR_OFF, 4, 10);
	if (err)
		return err;
	if (bpf_dynptr_read(buf, 4, &p, 0, 0))
		return 20;
	if (buf[0] != SADDR_BYTE(0) || buf[1] != SADDR_BYTE(1) ||
	    buf[2] != SADDR_BYTE(2) || buf[3] != SADDR_BYTE(3))
		return 21;
	if (bpf_rdynptr_advance(&p, 5) != -ERANGE ||
	    bpf_rdynptr_advance(&p, U32_OVER + 4) != -ERANGE)
		return 30;

	/* still read-only, for us and for the kernel */
	if (!bpf_rdynptr_is_rdonly(&p) || !bpf_dynptr_is_rdonly(&p))
		return 40;
	if (bpf_dynptr_write(&p, 0, &w, 1, 0) != -EINVAL)
		return 41;

	s = bpf_dynptr_slice(&p, 0, buf, sizeof(buf));
	if (!s)
		return 50;
	if (s[0] != SADDR_BYTE(0) || s[3] != SADDR_BYTE(3))
		return 51;
	return check_payload(&ref, PAYLOAD_OFF - ETH_HLEN_, 60);
}

SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int skb_rdonly_adjust(struct __sk_buff *skb)
{
	cg_err = skb_rdonly_body(skb);
	return cg_err ? 0 : 1;
}

/* tc test runs carry no skb metadata: an empty, writable view. */
SEC("?tc")
__success __retval(0)
int skb_meta_adjust(struct __sk_buff *skb)
{
	__u64 meta_len = (__u64)(long)skb->data - (__u64)(long)skb->data_meta;
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb_meta(skb, 0, &p))
		return 1;
	if (meta_len != 0)
		return 2;	/* the harness started to pass metadata: extend me */
	if (bpf_rdynptr_get_size(&p) != 0 || bpf_dynptr_size(&p) != 0)
		return 3;
	if (bpf_rdynptr_is_null(&p) || bpf_rdynptr_is_rdonly(&p))
		return 4;

	if (bpf_rdynptr_advance(&p, 0) || bpf_rdynptr_trim(&p, 0))
		return 10;
	if (bpf_rdynptr_advance(&p, 1) != -ERANGE)
		return 11;
	if (bpf_rdynptr_trim(&p, 1) != -ERANGE)
		return 12;
	if (bpf_rdynptr_advance(&p, U32_OVER) != -ERANGE)
		return 13;
	if (bpf_rdynptr_trim(&p, U64_MAX_LEN) != -ERANGE)
		return 14;
	if (bpf_rdynptr_get_offset(&p) != 0 || bpf_rdynptr_get_size(&p) != 0)
		return 15;
	return 0;
}

/* Every non-clone kfunc on a null dynptr. */
static __always_inline int check_null_all(struct bpf_dynptr *p, int base)
{
	if (!bpf_rdynptr_is_null(p))
		return base + 1;
	if (bpf_rdynptr_is_rdonly(p))
		return base + 2;
	if (bpf_rdynptr_get_size(p) != -EINVAL)
		return base + 3;
	if (bpf_rdynptr_get_offset(p) != -EINVAL)
		return base + 4;
	if (bpf_rdynptr_advance(p, 0) != -EINVAL)
		return base + 5;
	if (bpf_rdynptr_trim(p, 0) != -EINVAL)
		return base + 6;
	if (bpf_rdynptr_advance(p, U32_OVER) != -EINVAL)
		return base + 7;
	if (!bpf_dynptr_is_null(p))
		return base + 8;
	return 0;
}

SEC("?tc")
__success __retval(0)
int skb_null_adjust(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb(skb, 1, &p) != -EINVAL)
		return 1;
	return check_null_all(&p, 10);
}

SEC("?tc")
__success __retval(0)
int skb_meta_null_adjust(struct __sk_buff *skb)
{
	struct bpf_dynptr m;

	if (bpf_dynptr_from_skb_meta(skb, 1, &m) != -EINVAL)
		return 2;
	return check_null_all(&m, 20);
}

SEC("?xdp")
__success __retval(0)
int xdp_null_adjust(struct xdp_md *xdp)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_xdp(xdp, 1, &p) != -EINVAL)
		return 1;
	return check_null_all(&p, 10);
}

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} user_ringbuf SEC(".maps");

/* Samples seen by const_dynptr_cb, with a broken expectation. */
int user_sample_err;

static long const_dynptr_cb(struct bpf_dynptr *p, void *ctx)
{
	__s64 size = bpf_rdynptr_get_size(p);

	if (bpf_rdynptr_is_null(p) || bpf_rdynptr_get_offset(p) != 0 || size < 1) {
		user_sample_err++;
		return 0;
	}
	if (bpf_rdynptr_advance(p, 1) || bpf_rdynptr_trim(p, size - 1) ||
	    bpf_rdynptr_get_size(p) != 0 || bpf_rdynptr_is_rdonly(p))
		user_sample_err++;
	return 0;
}

/* The const dynptr of a user ringbuf callback is accepted by every kfunc. */
SEC("?syscall")
__success __retval(0)
int user_ringbuf_const_dynptr(void *ctx)
{
	/* the ring is empty: no callback, 0 samples */
	return bpf_user_ringbuf_drain(&user_ringbuf, const_dynptr_cb, NULL, 0);
}

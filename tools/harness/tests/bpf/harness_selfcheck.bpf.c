// SPDX-License-Identifier: GPL-2.0
/*
 * Self-check of rdynptr-test: every expectation here is right, so every
 * test must be "ok" (some are expected SKIPs, see the comments; make
 * vmtest runs this object with tools/harness/tests/verdicts, which names
 * their SKIP reasons).
 *
 *   make vmtest EXTRA_TESTS=$PWD/tools/harness/tests/bpf ONLY_EXTRA=1
 *
 * tools/harness/tests/objects.rs checks how the harness reads this object.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

/* No kernel has this kfunc: programs calling it must SKIP. */
extern int bpf_rdynptr_harness_no_such_kfunc(void) __ksym __weak;

/* tc sees the whole test packet. */
SEC("?tc")
__description("tc program sees the 64-byte test packet")
__success __retval(TEST_DATA_LEN)
int tc_packet_len(struct __sk_buff *skb)
{
	return skb->len;
}

/* The packet's TCP ports, read through direct packet access. */
SEC("?tc")
__success __retval(RDYNPTR_TEST_PKT_DPORT)
int tc_packet_dport(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *tcp = data + RDYNPTR_TEST_PKT_ETH_LEN + RDYNPTR_TEST_PKT_IP_LEN;

	if ((void *)(tcp + 4) > end)
		return -1;
	return (tcp[2] << 8) | tcp[3];
}

SEC("?xdp")
__success __retval(RDYNPTR_TEST_PKT_LEN)
int xdp_packet_len(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

/* cgroup_skb programs see the packet from the IPv4 header on. */
SEC("?cgroup_skb/ingress")
__success __retval(1)
int cgroup_skb_starts_at_ip(struct __sk_buff *skb)
{
	return skb->len == RDYNPTR_TEST_PKT_LEN - RDYNPTR_TEST_PKT_ETH_LEN;
}

/*
 * Non-linear test packets: only the first N bytes in the linear area, the
 * whole 64-byte packet in the skb.  (harness_wrong's test of a linear
 * size the kernel refuses runs before these.)
 */
static __always_inline int linear_part(struct __sk_buff *skb)
{
	if (skb->len != RDYNPTR_TEST_PKT_LEN)
		return -1;
	return (long)skb->data_end - (long)skb->data;
}

SEC("?tc")
__success __retval(34) __linear_size(34)
int linear_size_34(struct __sk_buff *skb)
{
	return linear_part(skb);
}

SEC("?tc")
__success __retval(40) __linear_size(40)
int linear_size_40(struct __sk_buff *skb)
{
	return linear_part(skb);
}

/* Negative return values, written with an errno name. */
SEC("?syscall")
__success __retval(-EINVAL)
int syscall_negative_retval(void *ctx)
{
	return -EINVAL;
}

/* A successful load whose verifier log is checked too. */
SEC("?syscall")
__success __log_level(2) __msg("processed {{[0-9]+}} insns")
__retval(0)
int success_with_log(void *ctx)
{
	return 0;
}

SEC("?syscall")
__failure __msg("R{{[0-9]}} invalid mem access 'scalar'")
int reject_scalar_deref(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p;
}

/* Messages in order; the __not_msg text must not appear between them. */
SEC("?syscall")
__failure
__msg("call bpf_get_prandom_u32")
__not_msg("R1 !read_ok")
__msg("invalid mem access")
int reject_in_order(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p + 1;
}

/* SKIP: calls a kfunc the kernel does not have. */
SEC("?syscall")
__success __retval(0)
int calls_missing_kfunc(void *ctx)
{
	return bpf_rdynptr_harness_no_such_kfunc();
}

static __noinline int helper_calls_missing(int x)
{
	return bpf_rdynptr_harness_no_such_kfunc() + x;
}

/* SKIP: the missing kfunc is called from a subprogram. */
SEC("?syscall")
__success __retval(0)
int subprog_calls_missing_kfunc(void *ctx)
{
	return helper_calls_missing(1);
}

/* Runs: the call is guarded by bpf_ksym_exists(), the verifier drops it. */
SEC("?syscall")
__success __retval(7)
int guarded_missing_kfunc(void *ctx)
{
	if (bpf_ksym_exists(bpf_rdynptr_harness_no_such_kfunc))
		return bpf_rdynptr_harness_no_such_kfunc();
	return 7;
}

/* SKIP: explicit requirement. */
SEC("?syscall")
__needs_kfunc("bpf_rdynptr_harness_no_such_kfunc")
__success __retval(0)
int needs_missing_kfunc(void *ctx)
{
	return 0;
}

/* Runs: the requirement is met by a kfunc every BTF kernel has. */
SEC("?syscall")
__needs_kfunc("bpf_rcu_read_lock")
__success __retval(3)
int needs_present_kfunc(void *ctx)
{
	return 3;
}

/* Not a test: no annotations. */
SEC("?syscall")
int not_a_test(void *ctx)
{
	return 0;
}

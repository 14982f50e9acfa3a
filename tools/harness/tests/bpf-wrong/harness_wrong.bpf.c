// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberately wrong expectations: every test here must be "not ok", with
 * a diagnostic saying what was expected and what happened.  make vmtest
 * runs them with the verdicts of tools/harness/tests/verdicts, which name
 * the diagnostic each must give (then they count as passed); on their own
 * they all fail, and the run exits non-zero:
 *
 *   make vmtest EXTRA_TESTS=$PWD/tools/harness/tests/bpf-wrong ONLY_EXTRA=1
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

/* Returns 1, not 2. */
SEC("?syscall")
__success __retval(2)
int wrong_retval(void *ctx)
{
	return 1;
}

/* Returns -ERANGE, not -EINVAL. */
SEC("?tc")
__success __retval(-EINVAL)
int wrong_negative_retval(struct __sk_buff *skb)
{
	return -ERANGE;
}

/* Rejected, but not with this message. */
SEC("?syscall")
__failure __msg("this text is not in the verifier log")
int wrong_msg(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p;
}

/* Both messages are in the log, but in the other order. */
SEC("?syscall")
__failure __msg("processed {{[0-9]+}} insns") __msg("invalid mem access")
int wrong_msg_order(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p;
}

/* Claims to be rejected, but is a valid program. */
SEC("?syscall")
__failure __msg("invalid mem access")
int failure_that_loads(void *ctx)
{
	return 0;
}

/* Claims to load, but the verifier rejects it. */
SEC("?syscall")
__success
int success_that_fails(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p;
}

/* A forbidden message that is in the log. */
SEC("?syscall")
__failure __msg("call bpf_get_prandom_u32") __not_msg("invalid mem access")
__msg("processed")
int forbidden_msg_present(void *ctx)
{
	int *p = (int *)(long)bpf_get_prandom_u32();

	return *p;
}

/*
 * The test packet's IPv4 header is not in the linear area with only the
 * Ethernet header linear: the kernel refuses this test run (EINVAL), and
 * the test fails with that errno, as in test_loader.c; it is no SKIP.
 * The tests of linear sizes 34 and 40 in harness_selfcheck run after it
 * and must still run and pass.
 */
SEC("?tc")
__success __retval(RDYNPTR_TEST_PKT_ETH_LEN)
__linear_size(RDYNPTR_TEST_PKT_ETH_LEN)
int linear_size_without_ip_header(struct __sk_buff *skb)
{
	return (long)skb->data_end - (long)skb->data;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_calls_clone: the clone kfunc's counterpart of kfunc_calls, in its
 * own object because bpf_rdynptr_clone() only exists on a kernel with the
 * KF_DYNPTR_CLONE verifier patch (the harness skips it elsewhere).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

#define BUF_SZ 32

/* Memory for local dynptrs: 7.3 only takes map values (global data). */
__u8 mem[BUF_SZ];

SEC("?syscall")
__success __retval(0)
int call_clone(void *ctx)
{
	struct bpf_dynptr p, c;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_clone(&p, &c, 5))
		return 2;
	if (bpf_dynptr_size(&c) != BUF_SZ - 5 || bpf_dynptr_size(&p) != BUF_SZ)
		return 3;
	return 0;
}

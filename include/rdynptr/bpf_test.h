/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test annotations for BPF programs run by rdynptr-test (tools/harness).
 *
 * The names and meanings follow the kernel's selftests
 * (tools/testing/selftests/bpf/progs/bpf_misc.h), so tests can move
 * between the two.  Every annotation is a BTF declaration tag
 * "comment:<counter>:<tag>" on the program's function; the counter keeps
 * the source order, which matters for __msg.  See Documentation/harness.rst
 * for the full contract: which programs are tests, test-run inputs,
 * SKIP rules and the output format.
 *
 *	SEC("?tc")
 *	__description("trim past the end fails")
 *	__success __retval(-ERANGE)
 *	int trim_too_far(struct __sk_buff *skb) { ... }
 *
 *	SEC("?tc")
 *	__failure __msg("Expected an initialized dynptr")
 *	int use_uninit(struct __sk_buff *skb) { ... }
 */
#ifndef _RDYNPTR_BPF_TEST_H
#define _RDYNPTR_BPF_TEST_H

#define __rdynptr_str(x)	#x
#define __rdynptr_xstr(x)	__rdynptr_str(x)

#define __test_tag(tag)							\
	__attribute__((btf_decl_tag("comment:"				\
				    __rdynptr_xstr(__COUNTER__) ":" tag)))

/*
 * rdynptr extension, which __success, __failure and __retval add: a test
 * of this header is test-run with rdynptr-test's test packet (below, and
 * Documentation/harness.rst), where test_loader.c gives bpf_misc.h
 * programs 64 zero bytes.
 */
#define __rdynptr_packet	__test_tag("test_rdynptr_packet")

/* Expected load result; the last of the two wins, the default is success. */
#define __success		__test_tag("test_expect_success") __rdynptr_packet
#define __failure		__test_tag("test_expect_failure") __rdynptr_packet

/*
 * Text that must appear in the verifier log.  Repeatable: all texts must
 * appear, in this order, each after the end of the previous match.  Parts
 * in "{{" "}}" are regular expressions: __msg("R{{[0-9]}} invalid mem").
 */
#define __msg(msg)		__test_tag("test_expect_msg=" msg)
/* Text that must not appear between the neighbouring __msg matches. */
#define __not_msg(msg)		__test_tag("test_expect_not_msg=" msg)

/*
 * Run the loaded program once with BPF_PROG_TEST_RUN and compare its
 * return value: a decimal or 0x-hex number (negative allowed), -ENAME for
 * the errno names listed in Documentation/harness.rst, _INT_MIN, or
 * POINTER_VALUE (any value).
 */
#define __retval(val)		__test_tag("test_retval=" __rdynptr_xstr(val)) __rdynptr_packet

/*
 * The program after the verifier's rewrites, as the kernel's disassembler
 * prints it: "N: insn" ("0: r0 = 0", "3: call bpf_get_smp_processor_id",
 * "5: call pc+2"); each __xlated must match on the line after the previous
 * one, unless an __xlated("...") comes between them.
 */
#define __xlated(msg)		__test_tag("test_expect_xlated=" msg)
/*
 * The JITed code, after an __arch_*: only that architecture's are checked,
 * as LLVM's disassembler prints it ("\tpushq\t%rbp"; branch targets of
 * the function as local labels, "L0:"), matched like __xlated.
 */
#define __jited(msg)		__test_tag("test_jited=" msg)
/* What the program wrote to its BPF streams in the test run (as __xlated). */
#define __stderr(msg)		__test_tag("test_expect_stderr=" msg)
#define __stdout(msg)		__test_tag("test_expect_stdout=" msg)

/*
 * The unprivileged mode: the program is also loaded (and run) without
 * CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON and CAP_BPF, as a second test
 * named "prog @unpriv", if kernel.unprivileged_bpf_disabled is 0 (SKIP
 * otherwise).  What its annotations leave out comes from the privileged
 * ones; a program with only _unpriv annotations is tested unprivileged
 * only.  __caps_unpriv keeps capabilities, by number: __caps_unpriv(21|39)
 * (CAP_SYS_ADMIN, CAP_BPF; bpf_misc.h names them).
 */
#define __success_unpriv	__test_tag("test_expect_success_unpriv") __rdynptr_packet
#define __failure_unpriv	__test_tag("test_expect_failure_unpriv") __rdynptr_packet
#define __msg_unpriv(msg)	__test_tag("test_expect_msg_unpriv=" msg)
#define __not_msg_unpriv(msg)	__test_tag("test_expect_not_msg_unpriv=" msg)
#define __retval_unpriv(val)	__test_tag("test_retval_unpriv=" __rdynptr_xstr(val)) __rdynptr_packet
#define __xlated_unpriv(msg)	__test_tag("test_expect_xlated_unpriv=" msg)
#define __jited_unpriv(msg)	__test_tag("test_jited_unpriv=" msg)
#define __stderr_unpriv(msg)	__test_tag("test_expect_stderr_unpriv=" msg)
#define __stdout_unpriv(msg)	__test_tag("test_expect_stdout_unpriv=" msg)
#define __auxiliary_unpriv	__test_tag("test_auxiliary_unpriv")
#define __caps_unpriv(caps)	__test_tag("test_caps_unpriv=" __rdynptr_xstr(caps))
#ifndef CAP_NET_ADMIN
#define CAP_NET_ADMIN		12
#define CAP_SYS_ADMIN		21
#define CAP_PERFMON		38
#define CAP_BPF			39
#endif

/*
 * Kernel BTF from this file instead of the running kernel's (kfuncs,
 * CO-RE); __btf_func_path also names the parameters of __naked
 * subprograms from it.
 */
#define __btf_path(path)	__test_tag("test_btf_path=" path)
#define __btf_func_path(path)	__test_tag("test_btf_func_path=" path)

#define __description(desc)	__test_tag("test_description=" desc)
#define __log_level(lvl)	__test_tag("test_log_level=" #lvl)

/* BPF_F_* program load flag (name or number); "!NAME" clears it. */
#define __flag(flag)		__test_tag("test_prog_flags=" #flag)

/*
 * Not a test itself: loaded together with every test of the same object
 * (for example a program that other programs tail-call into).
 */
#define __auxiliary		__test_tag("test_auxiliary")

/* Run only on these architectures (repeatable), SKIP elsewhere. */
#define __arch(arch)		__test_tag("test_arch=" arch)
#define __arch_x86_64		__arch("X86_64")
#define __arch_arm64		__arch("ARM64")
#define __arch_riscv64		__arch("RISCV64")
#define __arch_s390x		__arch("s390x")
#define __arch_loongarch	__arch("LOONGARCH")

/*
 * Test-run with only the first SZ bytes of the test packet in the skb's
 * linear area, the rest in page fragments (0: all linear), as in the
 * kernel's bpf_misc.h.  rdynptr extension: also for XDP programs, where SZ
 * bytes go to the first buffer and the rest to fragments (the program
 * must be in a SEC("xdp.frags") section).
 */
#define __linear_size(sz)	__test_tag("test_linear_size=" __rdynptr_xstr(sz))

/*
 * rdynptr extension, for programs BPF_PROG_TEST_RUN cannot run (LSM,
 * tracing, ...): instead of test-running the loaded program, attach it, do
 * ACTION, detach it, and compare the global variable VAR (an int or long
 * in .bss or .data) with __retval().  ACTION: "open" opens and reads the
 * harness's test file (RDYNPTR_TEST_FILE_*, below); "open:/abs/path" that
 * file.  Other processes and threads may run the program too while it is
 * attached: recognize the file (by RDYNPTR_TEST_FILE_MAGIC) and give VAR
 * an initial value that fails the test if the program never ran.  A
 * program that cannot be attached (the kernel lacks the hook) SKIPs.
 *
 * __result(VAR) without __trigger: the program is test-run as usual, and
 * __retval() checks VAR after the run instead of the return value (for
 * programs whose return value is constrained, such as cgroup_skb's 0 or 1).
 */
#define __trigger(action)	__test_tag("test_trigger=" action)
#define __result(var)		__test_tag("test_result=" #var)

/* Run only if the BPF JIT is enabled / disabled, SKIP otherwise. */
#define __load_if_JITed()	__test_tag("load_mode=jited")
#define __load_if_no_JITed()	__test_tag("load_mode=no_jited")

/*
 * rdynptr extension: SKIP the test, with the name in the reason, unless the
 * running kernel's BTF (vmlinux or a module) has the kfunc.  Only needed
 * for kfuncs the program does not call directly: a program that calls an
 * extern __ksym kfunc the kernel lacks is skipped automatically.
 */
#define __needs_kfunc(name)	__test_tag("test_needs_kfunc=" name)

/*
 * rdynptr extension: PROG (a program of the same object, without
 * annotations of its own) does what this test does with the kernel's own
 * kfuncs (bpf_dynptr_clone() for bpf_rdynptr_clone(), say).  Before the
 * test runs, PROG is loaded and must meet the test's load expectations
 * (__success or __failure, __msg, __not_msg); if it does not, the test
 * checks a verifier rule the running kernel lacks, and it SKIPs saying
 * so.  For tests of verifier rules that differ between kernel series.
 */
#define __kernel_twin(prog)	__test_tag("test_kernel_twin=" #prog)

/* Values understood by __retval(). */
#define POINTER_VALUE		0xbadcafe
#define TEST_DATA_LEN		64

/*
 * The test packet given to skb and XDP programs by BPF_PROG_TEST_RUN
 * (built by tools/harness/src/packet.rs; a host test keeps both in sync):
 * Ethernet + IPv4 + TCP + payload, TEST_DATA_LEN bytes in all.
 */
#define RDYNPTR_TEST_PKT_LEN		TEST_DATA_LEN
#define RDYNPTR_TEST_PKT_ETH_LEN	14
#define RDYNPTR_TEST_PKT_IP_LEN		20
#define RDYNPTR_TEST_PKT_TCP_LEN	20
#define RDYNPTR_TEST_PKT_PAYLOAD_OFF	54
#define RDYNPTR_TEST_PKT_PAYLOAD_LEN	10
#define RDYNPTR_TEST_PKT_SADDR		0x0a000001	/* 10.0.0.1 */
#define RDYNPTR_TEST_PKT_DADDR		0x0a000002	/* 10.0.0.2 */
#define RDYNPTR_TEST_PKT_SPORT		40000
#define RDYNPTR_TEST_PKT_DPORT		8080
#define RDYNPTR_TEST_PKT_PAYLOAD	"rdynptr-ok"

/* Errno values (vmlinux.h has no macros); redefinitions are identical. */
#ifndef EPERM
#define EPERM		1
#endif
#ifndef ENOENT
#define ENOENT		2
#endif
#ifndef E2BIG
#define E2BIG		7
#endif
#ifndef EAGAIN
#define EAGAIN		11
#endif
#ifndef ENOMEM
#define ENOMEM		12
#endif
#ifndef EFAULT
#define EFAULT		14
#endif
#ifndef EBUSY
#define EBUSY		16
#endif
#ifndef EEXIST
#define EEXIST		17
#endif
#ifndef EINVAL
#define EINVAL		22
#endif
#ifndef ENOSPC
#define ENOSPC		28
#endif
#ifndef ERANGE
#define ERANGE		34
#endif
#ifndef EOPNOTSUPP
#define EOPNOTSUPP	95
#endif
#ifndef ENOTSUPP
#define ENOTSUPP	524
#endif

/* Helpers for inline-assembly tests, as in bpf_misc.h. */
#ifndef __naked
#define __naked __attribute__((naked))
#endif
#ifndef __clobber_all
#define __clobber_all "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"
#endif
#ifndef __clobber_common
#define __clobber_common "r0", "r1", "r2", "r3", "r4", "r5", "memory"
#endif
#ifndef __imm
#define __imm(name) [name]"i"(name)
#endif
#ifndef __imm_const
#define __imm_const(name, expr) [name]"i"(expr)
#endif
#ifndef __imm_addr
#define __imm_addr(name) [name]"i"(&name)
#endif
#ifndef __imm_ptr
#define __imm_ptr(name) [name]"r"(&name)
#endif

/*
 * The harness's test file (__trigger("open")): RDYNPTR_TEST_FILE_LEN
 * bytes, the 8-byte magic then byte i = RDYNPTR_TEST_FILE_BYTE(i).
 */
#define RDYNPTR_TEST_FILE		"/tmp/rdynptr-test-file"
#define RDYNPTR_TEST_FILE_MAGIC		"RDYNPTR!"
#define RDYNPTR_TEST_FILE_LEN		5000
#define RDYNPTR_TEST_FILE_BYTE(i)	((i) < 8 ? (__u8)RDYNPTR_TEST_FILE_MAGIC[i] : \
					 (__u8)((i) * 13 + 7))

#endif /* _RDYNPTR_BPF_TEST_H */

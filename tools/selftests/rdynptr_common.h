/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the rdynptr selftests share: boundary lengths, the byte pattern of
 * their test buffers, the check that a dynptr shows exactly a given
 * window of such a buffer, to the rdynptr kfuncs and to the kernel's own,
 * and the recognition of the harness's test file by FILE programs.
 * Include after vmlinux.h, <bpf/bpf_helpers.h>, <rdynptr/kfuncs.h> and
 * <rdynptr/bpf_test.h>.
 */
#ifndef _RDYNPTR_SELFTESTS_COMMON_H
#define _RDYNPTR_SELFTESTS_COMMON_H

#define U32_OVER	(1ULL << 32)
#define U64_MAX_LEN	(~0ULL)

/* Byte stored at index i of every test buffer. */
#define PAT(i)		((__u8)((i) * 13 + 7))

#define BUF_SZ		64

/* Fill @buf (BUF_SZ bytes) with PAT(). */
static __always_inline void fill(__u8 *buf)
{
	int i;

	for (i = 0; i < BUF_SZ; i++)
		buf[i] = PAT(i);
}

/*
 * @p must show exactly [@off, @off + @size) of a PAT() buffer, both to our
 * kfuncs and to the kernel's own: returns 0 or @base + the failed check.
 */
static __always_inline int check_view(const struct bpf_dynptr *p, __u64 off,
				      __u64 size, int base)
{
	__u8 b;

	if (bpf_rdynptr_is_null(p) || bpf_dynptr_is_null(p))
		return base + 1;
	if (bpf_rdynptr_get_offset(p) != (__s64)off)
		return base + 2;
	if (bpf_rdynptr_get_size(p) != (__s64)size)
		return base + 3;
	if (bpf_dynptr_size(p) != size)
		return base + 4;
	if (size) {
		if (bpf_dynptr_read(&b, 1, p, 0, 0))
			return base + 5;
		if (b != PAT(off))
			return base + 6;
		if (bpf_dynptr_read(&b, 1, p, size - 1, 0))
			return base + 7;
		if (b != PAT(off + size - 1))
			return base + 8;
	}
	if (bpf_dynptr_read(&b, 1, p, size, 0) != -E2BIG)
		return base + 9;
	return 0;
}

/*
 * Makes @p a FILE dynptr of @file if @file is the harness's test file:
 * returns true then (@p must be discarded either way).
 */
static __always_inline bool test_file(struct file *file, struct bpf_dynptr *p)
{
	char magic[8];

	if (bpf_dynptr_from_file(file, 0, p))
		return false;
	if (bpf_dynptr_read(magic, sizeof(magic), p, 0, 0))
		return false;
	return !__builtin_memcmp(magic, RDYNPTR_TEST_FILE_MAGIC, sizeof(magic));
}

#endif /* _RDYNPTR_SELFTESTS_COMMON_H */

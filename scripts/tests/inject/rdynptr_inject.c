// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_inject: test-only triggers for the kernel reports that the
 * rdynptr VM runner must turn into failures and that LKDTM does not
 * provide.  Never loaded by the test suites; scripts/tests/vm-reports.sh
 * loads it in the debug guest and writes to one of
 *
 *   /sys/kernel/debug/rdynptr_inject/leak          kmemleak: lose large allocations
 *   /sys/kernel/debug/rdynptr_inject/leak_slab     kmemleak: lose small slab objects
 *   /sys/kernel/debug/rdynptr_inject/lockdep       lockdep: AB-BA lock order
 *   /sys/kernel/debug/rdynptr_inject/atomic_sleep  might_sleep() under a spinlock
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static struct dentry *inject_dir;
static DEFINE_MUTEX(inject_lock_a);
static DEFINE_MUTEX(inject_lock_b);
static DEFINE_SPINLOCK(inject_spin);

#define INJECT_LEAKS	16
/* Above KMALLOC_MAX_CACHE_SIZE: served by the page allocator, not a slab. */
#define INJECT_LARGE	(4 * PAGE_SIZE)

/* Makes each allocation escape, so that it cannot be optimized away. */
static void *inject_last;

/*
 * kmemleak scans whole task stacks, dead frames included: the frames
 * kmalloc() used below the caller still hold the pointers it returned.
 * Overwrite that part of the stack before returning.
 */
static noinline void inject_scrub_stack(void)
{
	char buf[1536];

	memzero_explicit(buf, sizeof(buf));
}

/*
 * Lose INJECT_LEAKS objects of @size bytes.  Each allocation overwrites
 * the pointer to the previous one, so that none survives in the module.
 */
static noinline void inject_lose(size_t size)
{
	int i;

	for (i = 0; i < INJECT_LEAKS; i++) {
		void *p = kmalloc(size, GFP_KERNEL);

		if (!p)
			break;
		memset(p, 0x5a, size);
		WRITE_ONCE(inject_last, p);
	}
	WRITE_ONCE(inject_last, NULL);
	inject_scrub_stack();
	pr_info("rdynptr_inject: leaked %d objects of %zu bytes\n", i, size);
}

/* A leak kmemleak must report: large kmalloc() objects. */
static void inject_leak(void)
{
	inject_lose(INJECT_LARGE);
}

/*
 * Small kmalloc() objects, served by the cache's per-CPU sheaf.  A stock
 * 7.3 kmemleak misses them: the sheaf (itself a kmalloc() object that
 * kmemleak scans) keeps the popped pointer in the slot above its new
 * size.  The debug flavor's scripts/patches/debug/ patch fixes that.
 */
static void inject_leak_slab(void)
{
	inject_lose(128);
}

static void inject_lockdep(void)
{
	/* A then B, later B then A: a circular dependency, no deadlock. */
	mutex_lock(&inject_lock_a);
	mutex_lock(&inject_lock_b);
	mutex_unlock(&inject_lock_b);
	mutex_unlock(&inject_lock_a);

	mutex_lock(&inject_lock_b);
	mutex_lock(&inject_lock_a);
	mutex_unlock(&inject_lock_a);
	mutex_unlock(&inject_lock_b);
}

static void inject_atomic_sleep(void)
{
	spin_lock(&inject_spin);
	/* Only the check: nothing actually sleeps here. */
	might_sleep();
	spin_unlock(&inject_spin);
}

struct inject_trigger {
	const char *name;
	void (*fire)(void);
};

static const struct inject_trigger inject_triggers[] = {
	{ "leak", inject_leak },
	{ "leak_slab", inject_leak_slab },
	{ "lockdep", inject_lockdep },
	{ "atomic_sleep", inject_atomic_sleep },
};

static ssize_t inject_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	const struct inject_trigger *t = file->private_data;

	pr_info("rdynptr_inject: firing %s\n", t->name);
	t->fire();
	return count;
}

static const struct file_operations inject_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= inject_write,
	.llseek	= noop_llseek,
};

static int __init inject_init(void)
{
	int i;

	inject_dir = debugfs_create_dir("rdynptr_inject", NULL);
	for (i = 0; i < ARRAY_SIZE(inject_triggers); i++)
		debugfs_create_file(inject_triggers[i].name, 0200, inject_dir,
				    (void *)&inject_triggers[i], &inject_fops);
	return 0;
}

static void __exit inject_exit(void)
{
	debugfs_remove(inject_dir);
}

module_init(inject_init);
module_exit(inject_exit);
MODULE_DESCRIPTION("rdynptr test-only kernel report triggers");
MODULE_LICENSE("GPL");

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What cn_echo and the harness's fault module (harness/selftest/faultmod)
 * share: read-only counters in sysfs, the count of running callbacks that
 * unloading waits for, and the registration of a table of ids on one
 * index.
 *
 * Everything cn_echo needs stays in kmod/, which is built, and may be
 * embedded, as one directory. The fault module's build copies this file
 * next to its source (its cnvmtest.include lists it).
 *
 * Include it once per module, after defining pr_fmt: it defines static
 * functions and the module's in-flight count.
 */
#ifndef _CN_COMMON_H
#define _CN_COMMON_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

#include "cn_echo_compat.h"

/* The connector's netlink socket has 32 multicast groups. */
#define CN_COMMON_MAX_IDX	32

/*
 * Read-only values for sysfs, backed by an atomic_t or an atomic_long_t.
 * They still need a set(): insmod calls it, unchecked, for any parameter
 * named on its command line, and -EPERM fails that load. sysfs_emit() is
 * in every kernel of the matrix (added in v5.10, 2efc459d06f1 "sysfs: Add
 * sysfs_emit and sysfs_emit_at to format sysfs output"); sysfs hands get()
 * a whole page.
 */
static int cn_common_param_set_ro(const char *buf, const struct kernel_param *kp)
{
	return -EPERM;
}

static int cn_common_param_get_int(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static int cn_common_param_get_long(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops cn_common_ro_int_ops __maybe_unused = {
	.set = cn_common_param_set_ro,
	.get = cn_common_param_get_int,
};

static const struct kernel_param_ops cn_common_ro_long_ops __maybe_unused = {
	.set = cn_common_param_set_ro,
	.get = cn_common_param_get_long,
};

/*
 * cn_del_callback() does not wait for a callback that is running
 * (cn_queue_del_callback() only drops its reference), and nothing pins
 * the module while one runs. So every callback, and every work item a
 * callback queues, counts itself in and out, and unloading waits until
 * the count is 0.
 */
static atomic_t cn_common_inflight = ATOMIC_INIT(0);
/* Every cn_common_leave() so far: the unload's proof that none ran. */
static atomic_t cn_common_exits = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(cn_common_idle);

static inline void cn_common_enter(void)
{
	atomic_inc(&cn_common_inflight);
}

static inline void cn_common_leave(void)
{
	/* Counted before the decrement, which is fully ordered. */
	atomic_inc(&cn_common_exits);
	if (atomic_dec_and_test(&cn_common_inflight))
		wake_up(&cn_common_idle);
}

/*
 * Wait until no callback of ids already unregistered runs module code.
 *
 * The count alone leaves two windows: a task that cn_call_callback() has
 * sent into a callback but that has not counted itself in yet, and the
 * instructions a callback runs after cn_common_leave()'s wake-up (the
 * return into cn_call_callback()). In both the task runs module text
 * without sleeping. synchronize_rcu_tasks() returns only after every task
 * that was running has done a voluntary context switch or gone back to
 * user space (kernel/rcu/tasks.h). So once the ids are gone, one grace
 * period that starts with the count at 0 and ends with the count at 0
 * and no cn_common_leave() in between proves the module idle: a task in
 * either window at its start had to leave the window to end it, and could
 * only do so by counting itself in (and out). Otherwise a callback ran
 * during the grace period, may sleep in it (the slow id's msleep()) or
 * still be returning from it, and another round is needed. A module
 * unloaded while idle, the usual case, waits for one grace period, not
 * two: consecutive RCU Tasks grace periods are at least HZ/10 apart
 * (rcu_tasks_kthread()'s gp_sleep), which made the unload cost 0.2 s.
 *
 * CONFIG_TASKS_RCU is set in the Debian kernels of the matrix that
 * enable preemption (6.1, 6.12, 7.x: PREEMPT_DYNAMIC); without it
 * rcupdate.h defines synchronize_rcu_tasks() as synchronize_rcu(), which
 * is enough there: a kernel without preemption cannot take a CPU from
 * module code that does not sleep, and the CPU must switch for the grace
 * period to end.
 */
static void cn_common_wait_idle(void)
{
	int exits;

	for (;;) {
		wait_event(cn_common_idle, !atomic_read(&cn_common_inflight));
		exits = atomic_read(&cn_common_exits);
		synchronize_rcu_tasks();
		if (!atomic_read(&cn_common_inflight) &&
		    atomic_read(&cn_common_exits) == exits)
			return;
	}
}

/* An entry of a module's table of ids: idx:val + its position. */
struct cn_common_cb {
	const char *name;	/* in /proc/net/connector */
	const char *what;	/* in the load message */
	void (*callback)(struct cn_msg *msg, struct netlink_skb_parms *nsp);
	struct cb_id id;	/* set by cn_common_register() */
};

/*
 * Check the ids a table of @n entries would take: an even index above
 * CN_NETLINK_USERS (lower ones belong to in-tree users; odd groups are
 * open to unprivileged users from 6.6) within the 32 groups, and
 * val..val+n-1 without overflow.
 */
static int cn_common_check_ids(unsigned int idx, unsigned int val,
			       unsigned int n)
{
	if (idx <= CN_NETLINK_USERS || idx > CN_COMMON_MAX_IDX || idx % 2) {
		pr_err("idx %u: want an even index > %u (CN_NETLINK_USERS) and <= %u\n",
		       idx, CN_NETLINK_USERS, CN_COMMON_MAX_IDX);
		return -EINVAL;
	}
	if (val > U32_MAX - (n - 1)) {
		pr_err("val %u: val+%u overflows\n", val, n - 1);
		return -EINVAL;
	}
	return 0;
}

/* Unregister the first @n ids of @cbs, last first. */
static void cn_common_unregister(struct cn_common_cb *cbs, unsigned int n)
{
	while (n--)
		cn_del_callback(&cbs[n].id);
}

/*
 * Register cbs[i] as idx:val+i. On a failure unregister those registered
 * and return the error; the caller then waits (cn_common_wait_idle()),
 * since messages may already have reached them.
 */
static int cn_common_register(struct cn_common_cb *cbs, unsigned int n,
			      unsigned int idx, unsigned int val)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		cbs[i].id.idx = idx;
		cbs[i].id.val = val + i;
		err = cn_add_callback(&cbs[i].id, cbs[i].name, cbs[i].callback);
		if (err) {
			pr_err("cn_add_callback(%u:%u): %d\n",
			       cbs[i].id.idx, cbs[i].id.val, err);
			cn_common_unregister(cbs, i);
			return err;
		}
	}
	return 0;
}

/* One line naming the ids, e.g. "registered 16:1 (echo) 16:2 (mcast) ..." */
static void cn_common_announce(const struct cn_common_cb *cbs, unsigned int n)
{
	char ids[256];
	unsigned int i;
	int len = 0;

	for (i = 0; i < n; i++)
		len += scnprintf(ids + len, sizeof(ids) - len, " %u:%u (%s)",
				 cbs[i].id.idx, cbs[i].id.val, cbs[i].what);
	pr_info("registered%s\n", ids);
}

#endif /* _CN_COMMON_H */

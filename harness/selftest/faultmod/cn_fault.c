// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection connector module for the cnvmtest self-tests.
 *
 * The harness must tell a warning from an oops, a panic and a hang, and
 * blame the right test for each. This module makes the kernel fail on
 * request, so that the self-tests can check that against a real kernel.
 * It registers seven connector ids on one index:
 *
 *	idx:val		WARN_ON(1): a "WARNING:" splat; the kernel lives
 *	idx:val+1	NULL pointer dereference: an oops that kills the
 *			sending thread (the whole kernel with panic_on_oops)
 *	idx:val+2	panic()
 *	idx:val+3	block in TASK_UNINTERRUPTIBLE until the module is
 *			unloaded, that is forever for the sender
 *	idx:val+4	kmalloc() and lose the pointer: a leak only kmemleak
 *			can see
 *	idx:val+5	count the message, nothing else
 *	idx:val+6	read a kmalloc()ed object after kfree(): a
 *			use-after-free only KASAN can see
 *
 * No callback replies. The callbacks run in the sender's process context,
 * inside its sendmsg(), so each fault happens in the sending task.
 *
 * Every message that reaches a callback is counted before the fault, in
 * the read-only parameter "received"; "hung" counts the callbacks blocked
 * in idx:val+3 and "leaked" the objects lost by idx:val+4. With fail=1 the
 * module refuses to load (-EINVAL), for the harness's MODULE_LOAD_FAIL
 * case.
 *
 * This module exists to break the kernel it runs in. Load it only in a
 * throwaway virtual machine.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/compiler.h>
#include <linux/connector.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

/* The connector's netlink socket has 32 multicast groups. */
#define CN_FAULT_MAX_IDX	32

/* Size of each object the leak id loses: a kmalloc-64 object. */
#define CN_FAULT_LEAK_SIZE	64

static unsigned int idx = 20;
module_param(idx, uint, 0444);
MODULE_PARM_DESC(idx, "Connector index: even, 12..32 (default 20)");

static unsigned int val = 1;
module_param(val, uint, 0444);
MODULE_PARM_DESC(val, "Value of the WARN id; val+1..val+5 are registered too (default 1)");

static bool fail;
module_param(fail, bool, 0444);
MODULE_PARM_DESC(fail, "Refuse to load with -EINVAL (default N)");

/* Counters, read-only in sysfs: setting one at load time fails the load. */
static int cn_fault_param_set_ro(const char *buf, const struct kernel_param *kp)
{
	return -EPERM;
}

static int cn_fault_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops cn_fault_counter_ops = {
	.set = cn_fault_param_set_ro,
	.get = cn_fault_param_get,
};

static atomic_long_t received = ATOMIC_LONG_INIT(0);
module_param_cb(received, &cn_fault_counter_ops, &received, 0444);
MODULE_PARM_DESC(received, "Messages that reached a callback (counted before the fault)");

static atomic_long_t hung = ATOMIC_LONG_INIT(0);
module_param_cb(hung, &cn_fault_counter_ops, &hung, 0444);
MODULE_PARM_DESC(hung, "Callbacks blocked in the hang id now");

static atomic_long_t leaked = ATOMIC_LONG_INIT(0);
module_param_cb(leaked, &cn_fault_counter_ops, &leaked, 0444);
MODULE_PARM_DESC(leaked, "Objects lost by the leak id");

/*
 * The connector does not wait for running callbacks when an id is
 * deleted, and nothing pins the module while one runs. Callbacks that
 * return count themselves in and out, and unloading waits until none
 * runs. The oops callback never returns: its task dies in it, so it is
 * not counted (counting it would block the unload forever). The hang
 * callback is released by the unload before the wait.
 */
static atomic_t cn_fault_inflight = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(cn_fault_idle);
static DECLARE_COMPLETION(cn_fault_unloading);

/* Count and log a message; callbacks that never return call only this. */
static void cn_fault_note(const struct cn_msg *msg, const char *what)
{
	atomic_long_inc(&received);
	pr_info("%u:%u from %s[%d]: %s\n", msg->id.idx, msg->id.val,
		current->comm, task_pid_nr(current), what);
}

static void cn_fault_enter(const struct cn_msg *msg, const char *what)
{
	atomic_inc(&cn_fault_inflight);
	cn_fault_note(msg, what);
}

static void cn_fault_leave(void)
{
	if (atomic_dec_and_test(&cn_fault_inflight))
		wake_up(&cn_fault_idle);
}

static void cn_fault_warn(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "warning");
	WARN_ON(1);
	cn_fault_leave();
}

static void cn_fault_oops(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	int *p = NULL;

	cn_fault_note(msg, "oops (NULL pointer dereference)");
	/* Keep the compiler from proving p NULL and dropping the load. */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("read %d\n", READ_ONCE(*p));
}

static void cn_fault_panic(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_note(msg, "panic");
	panic("cn_fault: requested panic");
}

static void cn_fault_hang(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "hang (TASK_UNINTERRUPTIBLE until unload)");
	atomic_long_inc(&hung);
	wait_for_completion(&cn_fault_unloading);
	atomic_long_dec(&hung);
	cn_fault_leave();
}

static void cn_fault_leak(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	void *p;

	cn_fault_enter(msg, "leak");
	p = kmalloc(CN_FAULT_LEAK_SIZE, GFP_KERNEL);
	if (p) {
		/* A pattern kmemleak's hex dump shows. */
		memset(p, 0xcf, CN_FAULT_LEAK_SIZE);
		atomic_long_inc(&leaked);
		pr_info("lost %d bytes\n", CN_FAULT_LEAK_SIZE);
	}
	cn_fault_leave();
}

static void cn_fault_count(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "count");
	cn_fault_leave();
}

/*
 * The object the use-after-free id frees and then reads, kept where the
 * compiler cannot see that it was freed.
 */
static u8 *cn_fault_freed;

static void cn_fault_uaf(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	u8 *p;

	cn_fault_enter(msg, "use-after-free");
	p = kmalloc(CN_FAULT_LEAK_SIZE, GFP_KERNEL);
	if (p) {
		WRITE_ONCE(cn_fault_freed, p);
		kfree(p);
		pr_info("read %u from freed memory\n",
			READ_ONCE(*READ_ONCE(cn_fault_freed)));
	}
	cn_fault_leave();
}

/* Not const: 5.10's cn_add_callback() takes a plain struct cb_id *. */
static struct cn_fault_cb {
	const char *name;	/* in /proc/net/connector */
	void (*callback)(struct cn_msg *msg, struct netlink_skb_parms *nsp);
	struct cb_id id;	/* idx:val + position in this table */
} cn_fault_cbs[] = {
	{ .name = "cn_fault_warn",	.callback = cn_fault_warn },
	{ .name = "cn_fault_oops",	.callback = cn_fault_oops },
	{ .name = "cn_fault_panic",	.callback = cn_fault_panic },
	{ .name = "cn_fault_hang",	.callback = cn_fault_hang },
	{ .name = "cn_fault_leak",	.callback = cn_fault_leak },
	{ .name = "cn_fault_count",	.callback = cn_fault_count },
	{ .name = "cn_fault_uaf",	.callback = cn_fault_uaf },
};

/* Delete the first @n ids, release hung callbacks and wait for the rest. */
static void cn_fault_del(unsigned int n)
{
	while (n--)
		cn_del_callback(&cn_fault_cbs[n].id);

	complete_all(&cn_fault_unloading);
	wait_event(cn_fault_idle, !atomic_read(&cn_fault_inflight));
}

static int __init cn_fault_init(void)
{
	struct cn_fault_cb *cb;
	unsigned int n;
	int err;

	if (fail) {
		pr_err("load refused: fail=1\n");
		return -EINVAL;
	}
	if (idx <= CN_NETLINK_USERS || idx > CN_FAULT_MAX_IDX || idx % 2) {
		pr_err("idx %u: want an even index > %u and <= %u\n",
		       idx, CN_NETLINK_USERS, CN_FAULT_MAX_IDX);
		return -EINVAL;
	}
	if (val > U32_MAX - (ARRAY_SIZE(cn_fault_cbs) - 1)) {
		pr_err("val %u: val+%zu overflows\n",
		       val, ARRAY_SIZE(cn_fault_cbs) - 1);
		return -EINVAL;
	}

	for (n = 0; n < ARRAY_SIZE(cn_fault_cbs); n++) {
		cb = &cn_fault_cbs[n];
		cb->id.idx = idx;
		cb->id.val = val + n;
		err = cn_add_callback(&cb->id, cb->name, cb->callback);
		if (err) {
			pr_err("cn_add_callback(%u:%u): %d\n",
			       cb->id.idx, cb->id.val, err);
			cn_fault_del(n);
			return err;
		}
	}
	pr_info("registered %u:%u..%u:%u (warn oops panic hang leak count uaf)\n",
		idx, val, idx, val + n - 1);
	return 0;
}

static void __exit cn_fault_exit(void)
{
	cn_fault_del(ARRAY_SIZE(cn_fault_cbs));
}

module_init(cn_fault_init);
module_exit(cn_fault_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("cnvmtest");
MODULE_DESCRIPTION("Connector module that breaks the kernel on request, for cnvmtest self-tests");

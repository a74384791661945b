// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection connector module for the cnvmtest self-tests.
 *
 * The harness must tell a warning from an oops, a panic and a hang, and
 * blame the right test for each. This module makes the kernel fail on
 * request, so that the self-tests can check that against a real kernel.
 * It registers thirteen connector ids on one index, idx:val..idx:val+12:
 *
 *	idx:val		WARN_ON(1): a "WARNING:" splat; the kernel lives
 *	idx:val+1	NULL pointer dereference (a write on s390, a
 *			read elsewhere): an oops that kills the sending
 *			thread (the whole kernel with panic_on_oops)
 *	idx:val+2	panic()
 *	idx:val+3	block in TASK_UNINTERRUPTIBLE until the module is
 *			unloaded, that is forever for the sender
 *	idx:val+4	kmalloc() and lose the pointer: a leak only kmemleak
 *			can see
 *	idx:val+5	count the message, nothing else
 *	idx:val+6	read a kmalloc()ed object after kfree(): a
 *			use-after-free only KASAN can see
 *	idx:val+7	echo (ack + 1, as cn_echo does) from a workqueue,
 *			delay_ms after the send returned: a late reply for
 *			the suite's control of synchronous delivery
 *	idx:val+8	spin spin_ms with preemption off: a soft lockup once
 *			spin_ms exceeds twice watchdog_thresh
 *	idx:val+9	spin spin_ms inside rcu_read_lock() with preemption
 *			off, after queueing an RCU callback: an RCU stall once
 *			spin_ms exceeds rcupdate.rcu_cpu_stall_timeout (the
 *			grace period needs a second CPU to start)
 *	idx:val+10	take lock A, then lock B
 *	idx:val+11	take lock B, then lock A: after idx:val+10, a lockdep
 *			circular locking report
 *	idx:val+12	kfree() the same object twice: a double free that
 *			SLUB debugging (slub_debug=F) or KASAN reports
 *
 * Only the late id replies. The callbacks run in the sender's process
 * context, inside its sendmsg(), so each fault happens in the sending
 * task.
 *
 * Every message that reaches a callback is counted before the fault, in
 * the read-only parameter "received"; "hung" counts the callbacks blocked
 * in idx:val+3 and "leaked" the objects lost by idx:val+4. With fail=1 the
 * module refuses to load (-EINVAL), for the harness's MODULE_LOAD_FAIL
 * case. With warn_exit=1 its exit WARNs: a report during the final
 * unload, after the last test.
 *
 * This module exists to break the kernel it runs in. Load it only in a
 * throwaway virtual machine.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

/* From kmod/, copied next to this file by the build (cnvmtest.include). */
#include "cn_common.h"

/* Size of each object the leak id loses: a kmalloc-64 object. */
#define CN_FAULT_LEAK_SIZE	64

static unsigned int idx = 20;
module_param(idx, uint, 0444);
MODULE_PARM_DESC(idx, "Connector index: even, 12..32 (default 20)");

static unsigned int val = 1;
module_param(val, uint, 0444);
MODULE_PARM_DESC(val, "Value of the WARN id; val+1..val+7 are registered too (default 1)");

static bool fail;
module_param(fail, bool, 0444);
MODULE_PARM_DESC(fail, "Refuse to load with -EINVAL (default N)");

/*
 * Well below the window of the suite's late-reply control (500 ms), well
 * above the time a reply takes inside sendmsg().
 */
static unsigned int delay_ms = 200;
module_param(delay_ms, uint, 0444);
MODULE_PARM_DESC(delay_ms, "Delay of the late id's reply, in ms (default 200)");

static bool warn_exit;
module_param(warn_exit, bool, 0444);
MODULE_PARM_DESC(warn_exit, "WARN in the module's exit (default N)");

/*
 * Long enough for a soft lockup with watchdog_thresh=1 (reported after
 * 2 s, kernel/watchdog.c get_softlockup_thresh) and an RCU stall with
 * rcupdate.rcu_cpu_stall_timeout=3 (the minimum, kernel/rcu/tree_stall.h
 * rcu_jiffies_till_stall_check), short of the defaults (20 s, 21 s).
 */
static unsigned int spin_ms = 5000;
module_param(spin_ms, uint, 0444);
MODULE_PARM_DESC(spin_ms, "How long the lockup and stall ids spin, in ms (default 5000)");

static atomic_long_t received = ATOMIC_LONG_INIT(0);
module_param_cb(received, &cn_common_ro_long_ops, &received, 0444);
MODULE_PARM_DESC(received, "Messages that reached a callback (counted before the fault)");

static atomic_long_t hung = ATOMIC_LONG_INIT(0);
module_param_cb(hung, &cn_common_ro_long_ops, &hung, 0444);
MODULE_PARM_DESC(hung, "Callbacks blocked in the hang id now");

static atomic_long_t leaked = ATOMIC_LONG_INIT(0);
module_param_cb(leaked, &cn_common_ro_long_ops, &leaked, 0444);
MODULE_PARM_DESC(leaked, "Objects lost by the leak id");

/*
 * Callbacks that return, and the late id's work items, count themselves
 * in and out (cn_common.h), and unloading waits until none runs. The oops
 * callback never returns: its task dies in it, so it is not counted
 * (counting it would block the unload forever). The hang callback is
 * released by the unload before the wait.
 */
static DECLARE_COMPLETION(cn_fault_unloading);

/* The late id's replies wait here; destroyed on unload. */
static struct workqueue_struct *cn_fault_wq;

/* Count and log a message; callbacks that never return call only this. */
static void cn_fault_note(const struct cn_msg *msg, const char *what)
{
	atomic_long_inc(&received);
	pr_info("%u:%u from %s[%d]: %s\n", msg->id.idx, msg->id.val,
		current->comm, task_pid_nr(current), what);
}

static void cn_fault_enter(const struct cn_msg *msg, const char *what)
{
	cn_common_enter();
	cn_fault_note(msg, what);
}

static void cn_fault_warn(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "warning");
	WARN_ON(1);
	cn_common_leave();
}

static void cn_fault_oops(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	int *p = NULL;

	cn_fault_note(msg, "oops (NULL pointer dereference)");
	/* Keep the compiler from proving p NULL and dropping the access. */
	OPTIMIZER_HIDE_VAR(p);
#ifdef CONFIG_S390
	/*
	 * s390's kernel can read address 0, the CPU's lowcore (on 6.1 it
	 * reads 0 and goes on); what faults is a write there, which
	 * low-address protection catches (arch/s390/kernel/early.c
	 * setup_low_address_protection; arch/s390/mm/fault.c do_low_address:
	 * "NULL pointer write access in kernel mode").
	 */
	WRITE_ONCE(*p, 1);
	pr_info("wrote to address 0\n");
#else
	pr_info("read %d\n", READ_ONCE(*p));
#endif
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
	cn_common_leave();
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
	cn_common_leave();
}

static void cn_fault_count(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "count");
	cn_common_leave();
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
	cn_common_leave();
}

/* Busy-wait for spin_ms; the caller has preemption off. */
static noinline void cn_fault_spin(void)
{
	unsigned long end = jiffies + msecs_to_jiffies(spin_ms);

	while (time_before(jiffies, end))
		cpu_relax();
}

static void cn_fault_softlockup(struct cn_msg *msg,
				struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "soft lockup (spin with preemption off)");
	preempt_disable();
	cn_fault_spin();
	preempt_enable();
	cn_common_leave();
}

static void cn_fault_rcu_free(struct rcu_head *head)
{
	kfree(head);
}

static void cn_fault_rcu_stall(struct cn_msg *msg,
			       struct netlink_skb_parms *nsp)
{
	struct rcu_head *head;

	cn_fault_enter(msg, "RCU stall (spin in an RCU read-side section)");
	/* A callback, so that a grace period starts and then waits for us. */
	head = kmalloc(sizeof(*head), GFP_KERNEL);
	if (head)
		call_rcu(head, cn_fault_rcu_free);
	rcu_read_lock();
	preempt_disable();
	cn_fault_spin();
	preempt_enable();
	rcu_read_unlock();
	cn_common_leave();
}

static DEFINE_MUTEX(cn_fault_lock_a);
static DEFINE_MUTEX(cn_fault_lock_b);

static void cn_fault_lock_ab(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "lock A, then B");
	mutex_lock(&cn_fault_lock_a);
	mutex_lock(&cn_fault_lock_b);
	mutex_unlock(&cn_fault_lock_b);
	mutex_unlock(&cn_fault_lock_a);
	cn_common_leave();
}

static void cn_fault_lock_ba(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_fault_enter(msg, "lock B, then A");
	mutex_lock(&cn_fault_lock_b);
	mutex_lock(&cn_fault_lock_a);
	mutex_unlock(&cn_fault_lock_a);
	mutex_unlock(&cn_fault_lock_b);
	cn_common_leave();
}

static void cn_fault_double_free(struct cn_msg *msg,
				 struct netlink_skb_parms *nsp)
{
	u8 *p;

	cn_fault_enter(msg, "double free");
	p = kmalloc(CN_FAULT_LEAK_SIZE, GFP_KERNEL);
	if (p) {
		WRITE_ONCE(cn_fault_freed, p);
		kfree(p);
		kfree(READ_ONCE(cn_fault_freed));
	}
	cn_common_leave();
}

/* A reply the late id sends from cn_fault_wq. */
struct cn_fault_late {
	struct delayed_work work;
	u32 portid;
	struct cn_msg *msg;	/* a copy of the request, data included */
};

static void cn_fault_late_reply(struct work_struct *work)
{
	struct cn_fault_late *late = container_of(to_delayed_work(work),
						  struct cn_fault_late, work);
	int ret;

	late->msg->ack++;
	ret = cn_netlink_send(late->msg, late->portid, 0, GFP_KERNEL);
	pr_info("late reply to %u:%u seq %u for port %u: %d\n",
		late->msg->id.idx, late->msg->id.val, late->msg->seq,
		late->portid, ret);
	kfree(late->msg);
	kfree(late);
	cn_common_leave();
}

static void cn_fault_late(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	struct cn_fault_late *late;

	cn_fault_enter(msg, "late reply");
	late = kmalloc(sizeof(*late), GFP_KERNEL);
	if (late)
		late->msg = kmemdup(msg, sizeof(*msg) + msg->len, GFP_KERNEL);
	if (!late || !late->msg) {
		kfree(late);
		cn_common_leave();
		return;
	}
	late->portid = nsp->portid;
	INIT_DELAYED_WORK(&late->work, cn_fault_late_reply);
	/* The work item stays counted in until it has replied. */
	cn_common_enter();
	queue_delayed_work(cn_fault_wq, &late->work, msecs_to_jiffies(delay_ms));
	cn_common_leave();
}

/* Not const: 5.10's cn_add_callback() takes a plain struct cb_id *. */
static struct cn_common_cb cn_fault_cbs[] = {
	{ .name = "cn_fault_warn",	.what = "warn",	.callback = cn_fault_warn },
	{ .name = "cn_fault_oops",	.what = "oops",	.callback = cn_fault_oops },
	{ .name = "cn_fault_panic",	.what = "panic", .callback = cn_fault_panic },
	{ .name = "cn_fault_hang",	.what = "hang",	.callback = cn_fault_hang },
	{ .name = "cn_fault_leak",	.what = "leak",	.callback = cn_fault_leak },
	{ .name = "cn_fault_count",	.what = "count", .callback = cn_fault_count },
	{ .name = "cn_fault_uaf",	.what = "uaf",	.callback = cn_fault_uaf },
	{ .name = "cn_fault_late",	.what = "late",	.callback = cn_fault_late },
	{ .name = "cn_fault_softlockup", .what = "softlockup", .callback = cn_fault_softlockup },
	{ .name = "cn_fault_rcu_stall",	.what = "rcu_stall", .callback = cn_fault_rcu_stall },
	{ .name = "cn_fault_lock_ab",	.what = "lock_ab", .callback = cn_fault_lock_ab },
	{ .name = "cn_fault_lock_ba",	.what = "lock_ba", .callback = cn_fault_lock_ba },
	{ .name = "cn_fault_double_free", .what = "double_free", .callback = cn_fault_double_free },
};

/* Release hung callbacks, wait for the rest, then for the late replies. */
static void cn_fault_wait(void)
{
	complete_all(&cn_fault_unloading);
	cn_common_wait_idle();
	destroy_workqueue(cn_fault_wq);
}

static int __init cn_fault_init(void)
{
	int err;

	if (fail) {
		pr_err("load refused: fail=1\n");
		return -EINVAL;
	}
	err = cn_common_check_ids(idx, val, ARRAY_SIZE(cn_fault_cbs));
	if (err)
		return err;
	/*
	 * Unbound: the replies need no particular CPU, and 7.2's
	 * __alloc_workqueue (kernel/workqueue.c) WARNs when a caller names
	 * neither WQ_PERCPU nor WQ_UNBOUND; WQ_UNBOUND exists on every kernel
	 * of the matrix.
	 */
	cn_fault_wq = alloc_workqueue("cn_fault", WQ_UNBOUND, 0);
	if (!cn_fault_wq)
		return -ENOMEM;
	err = cn_common_register(cn_fault_cbs, ARRAY_SIZE(cn_fault_cbs), idx, val);
	if (err) {
		cn_fault_wait();
		return err;
	}
	cn_common_announce(cn_fault_cbs, ARRAY_SIZE(cn_fault_cbs));
	return 0;
}

static void __exit cn_fault_exit(void)
{
	WARN(warn_exit, "cn_fault: requested warning on unload\n");
	cn_common_unregister(cn_fault_cbs, ARRAY_SIZE(cn_fault_cbs));
	cn_fault_wait();
}

module_init(cn_fault_init);
module_exit(cn_fault_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("cnvmtest");
MODULE_DESCRIPTION("Connector module that breaks the kernel on request, for cnvmtest self-tests");

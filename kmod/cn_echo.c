// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel connector echo module for the cnvmtest suite.
 *
 * Registers six connector ids that share one index (and so one
 * multicast group):
 *
 *	idx:val		echo: unicast the message back to its sender
 *	idx:val+1	multicast the message to group idx
 *	idx:val+2	notify the sender, sleep slow_ms, then echo (unload tests)
 *	idx:val+3	multicast to group idx, excluding the sender
 *	idx:val+4	reply with the sender's credentials as the kernel saw them
 *	idx:val+5	echo with GFP_KERNEL, which may block the sender
 *
 * A reply carries the request's id, seq, len, flags and data, with
 * ack = request ack + 1; the credentials reply carries a struct
 * cn_echo_creds instead of the data. The counters and the last send
 * results are read-only module parameters, so the tests can read them
 * from /sys/module/cn_echo/parameters/.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "cn_common.h"

static unsigned int idx = 16;
module_param(idx, uint, 0444);
MODULE_PARM_DESC(idx, "Connector index and multicast group: even, 12..32 (default 16)");

static unsigned int val = 1;
module_param(val, uint, 0444);
MODULE_PARM_DESC(val, "Value of the echo id; val+1..val+5 are registered too (default 1)");

/*
 * Long enough for a test to unload the module while the callback sleeps
 * (the test checks that it did, T33), short enough not to slow the suite.
 */
static unsigned int slow_ms = 300;
module_param(slow_ms, uint, 0444);
MODULE_PARM_DESC(slow_ms, "Sleep of the slow id before it echoes, in ms (default 300)");

static bool nowait;
module_param(nowait, bool, 0444);
MODULE_PARM_DESC(nowait, "Do not wait for running callbacks on unload (unsafe, default N)");

static atomic_long_t received = ATOMIC_LONG_INIT(0);
module_param_cb(received, &cn_common_ro_long_ops, &received, 0444);
MODULE_PARM_DESC(received, "Messages that reached a callback");

static atomic_long_t replied = ATOMIC_LONG_INIT(0);
module_param_cb(replied, &cn_common_ro_long_ops, &replied, 0444);
MODULE_PARM_DESC(replied, "Replies sent (cn_netlink_send() >= 0)");

static atomic_long_t send_errors = ATOMIC_LONG_INIT(0);
module_param_cb(send_errors, &cn_common_ro_long_ops, &send_errors, 0444);
MODULE_PARM_DESC(send_errors, "Replies not sent (cn_netlink_send() < 0, or no memory)");

/*
 * Multicast sends return 0 or a negative errno, so 1 means "no multicast
 * sent yet" and a test cannot mistake the initial value for a success.
 */
static atomic_t last_mcast_ret = ATOMIC_INIT(1);
module_param_cb(last_mcast_ret, &cn_common_ro_int_ops, &last_mcast_ret, 0444);
MODULE_PARM_DESC(last_mcast_ret, "Return of the last multicast send (1 before the first)");

/* Same convention for the GFP_KERNEL echo of idx:val+5. */
static atomic_t last_block_ret = ATOMIC_INIT(1);
module_param_cb(last_block_ret, &cn_common_ro_int_ops, &last_block_ret, 0444);
MODULE_PARM_DESC(last_block_ret, "Return of the last GFP_KERNEL echo (1 before the first)");

static atomic_t dup_add_ret = ATOMIC_INIT(0);
module_param_cb(dup_add_ret, &cn_common_ro_int_ops, &dup_add_ret, 0444);
MODULE_PARM_DESC(dup_add_ret, "Return of cn_add_callback() for an id already registered");

/* Count a message in, for received and for the unload's wait. */
static void cn_echo_enter(void)
{
	cn_common_enter();
	atomic_long_inc(&received);
}

/*
 * Send a copy of @msg with ack + 1. Callbacks run in the sender's process
 * context, so the copy may sleep; the send itself must not unless @gfp
 * says so, or a client that does not read its socket would block in its
 * own sendmsg().
 */
static int cn_echo_send(const struct cn_msg *msg, u32 portid, u32 group,
			gfp_t gfp)
{
	struct cn_msg *reply;
	int ret;

	reply = kmemdup(msg, sizeof(*msg) + msg->len, GFP_KERNEL);
	if (!reply) {
		atomic_long_inc(&send_errors);
		return -ENOMEM;
	}
	reply->ack = msg->ack + 1;

	/* Unicast returns the bytes queued, multicast 0. */
	ret = cn_netlink_send(reply, portid, group, gfp);
	kfree(reply);

	if (ret < 0)
		atomic_long_inc(&send_errors);
	else
		atomic_long_inc(&replied);
	return ret;
}

static void cn_echo_callback(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	cn_echo_enter();
	cn_echo_send(msg, nsp->portid, 0, GFP_ATOMIC);
	cn_common_leave();
}

/* Group 0 without a portid: the group of the registered id, i.e. idx. */
static void cn_echo_mcast_callback(struct cn_msg *msg,
				   struct netlink_skb_parms *nsp)
{
	cn_echo_enter();
	atomic_set(&last_mcast_ret, cn_echo_send(msg, 0, 0, GFP_ATOMIC));
	cn_common_leave();
}

/*
 * The start notice tells the sender that the callback is running, so that
 * a test can unload the module at that moment: the request's header with
 * the ack unchanged and no data.
 */
static void cn_echo_notify_start(const struct cn_msg *msg, u32 portid)
{
	struct cn_msg notice = *msg;

	notice.len = 0;
	if (cn_netlink_send(&notice, portid, 0, GFP_ATOMIC) < 0)
		atomic_long_inc(&send_errors);
}

static void cn_echo_slow_callback(struct cn_msg *msg,
				  struct netlink_skb_parms *nsp)
{
	cn_echo_enter();
	cn_echo_notify_start(msg, nsp->portid);
	msleep(slow_ms);
	cn_echo_send(msg, nsp->portid, 0, GFP_ATOMIC);
	cn_common_leave();
}

/* A portid with a group multicasts to the group, skipping that port. */
static void cn_echo_mcast_excl_callback(struct cn_msg *msg,
					struct netlink_skb_parms *nsp)
{
	cn_echo_enter();
	atomic_set(&last_mcast_ret,
		   cn_echo_send(msg, nsp->portid, idx, GFP_ATOMIC));
	cn_common_leave();
}

/*
 * What the connector tells a callback about the sender. The ids are mapped
 * into the initial namespaces: an unmapped uid reads as the overflow uid.
 */
struct cn_echo_creds {
	__u32 pid;	/* nsp->creds.pid: tgid in the sender's pid namespace */
	__u32 uid;	/* nsp->creds.uid */
	__u32 gid;	/* nsp->creds.gid */
	__u32 portid;	/* nsp->portid */
	__u32 tgid;	/* the task running the callback, in the initial pid ns */
};

static void cn_echo_creds_callback(struct cn_msg *msg,
				   struct netlink_skb_parms *nsp)
{
	struct cn_echo_creds *creds;
	struct cn_msg *reply;
	int ret;

	cn_echo_enter();
	reply = kzalloc(sizeof(*reply) + sizeof(*creds), GFP_KERNEL);
	if (!reply) {
		atomic_long_inc(&send_errors);
		goto out;
	}
	*reply = *msg;
	reply->ack = msg->ack + 1;
	reply->len = sizeof(*creds);
	creds = (struct cn_echo_creds *)reply->data;
	creds->pid = nsp->creds.pid;
	creds->uid = from_kuid_munged(&init_user_ns, nsp->creds.uid);
	creds->gid = from_kgid_munged(&init_user_ns, nsp->creds.gid);
	creds->portid = nsp->portid;
	creds->tgid = task_tgid_nr(current);

	ret = cn_netlink_send(reply, nsp->portid, 0, GFP_ATOMIC);
	kfree(reply);
	if (ret < 0)
		atomic_long_inc(&send_errors);
	else
		atomic_long_inc(&replied);
out:
	cn_common_leave();
}

/*
 * GFP_KERNEL lets netlink_unicast() wait for room in the sender's receive
 * queue. The sender is blocked in its own sendmsg() until it reads, which
 * it cannot, or until a signal ends the wait (-ERESTARTSYS, reply lost).
 * Only for the test of that behaviour (docs/connector.md 2.5, row T35).
 */
static void cn_echo_block_callback(struct cn_msg *msg,
				   struct netlink_skb_parms *nsp)
{
	cn_echo_enter();
	atomic_set(&last_block_ret,
		   cn_echo_send(msg, nsp->portid, 0, GFP_KERNEL));
	cn_common_leave();
}

/* Not const: 5.10's cn_add_callback() takes a plain struct cb_id *. */
static struct cn_common_cb cn_echo_cbs[] = {
	{
		.name = "cn_echo",
		.what = "echo",
		.callback = cn_echo_callback,
	}, {
		.name = "cn_echo_mcast",
		.what = "mcast",
		.callback = cn_echo_mcast_callback,
	}, {
		.name = "cn_echo_slow",
		.what = "slow",
		.callback = cn_echo_slow_callback,
	}, {
		.name = "cn_echo_mcast_excl",
		.what = "mcast-excl",
		.callback = cn_echo_mcast_excl_callback,
	}, {
		.name = "cn_echo_creds",
		.what = "creds",
		.callback = cn_echo_creds_callback,
	}, {
		.name = "cn_echo_block",
		.what = "block",
		.callback = cn_echo_block_callback,
	},
};

static int __init cn_echo_init(void)
{
	struct cn_common_cb *cb = &cn_echo_cbs[0];
	int err;

	/* The Go tests decode the credentials reply as five u32. */
	BUILD_BUG_ON(sizeof(struct cn_echo_creds) != 5 * sizeof(__u32));

	err = cn_common_check_ids(idx, val, ARRAY_SIZE(cn_echo_cbs));
	if (err)
		return err;
	err = cn_common_register(cn_echo_cbs, ARRAY_SIZE(cn_echo_cbs), idx, val);
	if (err) {
		/* Messages may already be in the registered callbacks. */
		cn_common_wait_idle();
		return err;
	}

	/* The connector refuses a second registration of a live id. */
	err = cn_add_callback(&cb->id, cb->name, cb->callback);
	atomic_set(&dup_add_ret, err);
	if (!err) {
		pr_warn("duplicate %u:%u accepted\n", cb->id.idx, cb->id.val);
		cn_del_callback(&cb->id);
	}

	cn_common_announce(cn_echo_cbs, ARRAY_SIZE(cn_echo_cbs));
	return 0;
}

static void __exit cn_echo_exit(void)
{
	cn_common_unregister(cn_echo_cbs, ARRAY_SIZE(cn_echo_cbs));
	if (nowait)
		pr_warn("not waiting for %d running callbacks\n",
			atomic_read(&cn_common_inflight));
	else
		cn_common_wait_idle();
}

module_init(cn_echo_init);
module_exit(cn_echo_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("cnvmtest");
MODULE_DESCRIPTION("Kernel connector echo module for the cnvmtest suite");

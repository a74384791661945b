// SPDX-License-Identifier: GPL-2.0
/*
 * cn_upper: a kernel connector service written for the cnvmtest example.
 *
 * It registers one connector id, idx:val (18:1 unless the parameters say
 * otherwise). Every message sent to that id is answered, to its sender
 * only, with a message that has the same id and seq, an ack one higher
 * than the request's, and the same data with each ASCII letter a-z turned
 * into A-Z. Every other byte is left as it is, so UTF-8 text stays valid.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/connector.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

static unsigned int idx = 18;
module_param(idx, uint, 0444);
MODULE_PARM_DESC(idx, "Connector index, at least CN_NETLINK_USERS (default 18)");

static unsigned int val = 1;
module_param(val, uint, 0444);
MODULE_PARM_DESC(val, "Connector value (default 1)");

/* Set at load from the parameters; not const for the 5.10 prototype. */
static struct cb_id cn_upper_id;

static u8 cn_upper_ascii(u8 c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 'A';
	return c;
}

/*
 * The connector has checked that msg->len fits in the netlink message.
 * The callback runs in the sender's sendmsg(), so it may allocate with
 * GFP_KERNEL, but the send must not wait for room in the sender's queue:
 * the sender is not reading while it is still sending.
 */
static void cn_upper_callback(struct cn_msg *msg, struct netlink_skb_parms *nsp)
{
	struct cn_msg *reply;
	u16 i;

	reply = kmalloc(sizeof(*reply) + msg->len, GFP_KERNEL);
	if (!reply)
		return;

	reply->id = msg->id;
	reply->seq = msg->seq;
	reply->ack = msg->ack + 1;
	reply->len = msg->len;
	reply->flags = msg->flags;
	for (i = 0; i < msg->len; i++)
		reply->data[i] = cn_upper_ascii(msg->data[i]);

	if (cn_netlink_send(reply, nsp->portid, 0, GFP_ATOMIC) < 0)
		pr_debug("reply to port %u lost\n", nsp->portid);
	kfree(reply);
}

static int __init cn_upper_init(void)
{
	int err;

	/* Lower indexes belong to the kernel's own connector users. */
	if (idx < CN_NETLINK_USERS) {
		pr_err("idx %u is below %d, reserved for in-tree users\n",
		       idx, CN_NETLINK_USERS);
		return -EINVAL;
	}

	cn_upper_id.idx = idx;
	cn_upper_id.val = val;
	err = cn_add_callback(&cn_upper_id, KBUILD_MODNAME, cn_upper_callback);
	if (err) {
		pr_err("cannot register %u:%u: %d\n", idx, val, err);
		return err;
	}
	pr_info("registered %u:%u\n", idx, val);
	return 0;
}

/*
 * cn_del_callback() does not wait for a callback that is still running.
 * The example unloads the module only once its tests have ended, when no
 * message is in flight; a module unloaded under traffic would have to
 * count its running callbacks and wait for them here.
 */
static void __exit cn_upper_exit(void)
{
	cn_del_callback(&cn_upper_id);
	pr_info("unregistered %u:%u\n", idx, val);
}

module_init(cn_upper_init);
module_exit(cn_upper_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Connector service that replies with its data in upper case");

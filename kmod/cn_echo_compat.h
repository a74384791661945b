/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connector API differences between kernel versions, for cn_echo.
 *
 * cn_echo builds unchanged against 5.10, 6.1, 6.12 and 7.x, because it
 * uses only calls whose signatures have not changed in an incompatible
 * way since v3.16:
 *
 *  - cn_netlink_send(msg, portid, group, gfp): the same since v3.16.
 *  - cn_add_callback() and cn_del_callback(): "const struct cb_id *"
 *    since v5.11 (c18e68696fdd "net/connector: Add const qualifier to
 *    cb_id"), a plain pointer in 5.10. A non-const struct cb_id converts
 *    to both, so cn_echo keeps its ids writable.
 *  - the callback type void (*)(struct cn_msg *, struct netlink_skb_parms *).
 *
 * Put a wrapper here, not an #if in cn_echo.c, when the module starts to
 * use something that did change, e.g. cn_netlink_send_mult(), which takes
 * two more arguments (filter, filter_data; NULL, NULL will do) since v6.6.
 */
#ifndef _CN_ECHO_COMPAT_H
#define _CN_ECHO_COMPAT_H

#include <linux/connector.h>

#endif /* _CN_ECHO_COMPAT_H */

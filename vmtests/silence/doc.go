// SPDX-License-Identifier: MIT

// Package silence proves that a kernel connector socket received nothing,
// from the order in which the kernel delivers, instead of by listening
// for a while.
//
// # Why a sentinel proves silence
//
// The connector runs a callback inside the sender's sendmsg: netlink_sendmsg
// hands the datagram to netlink_unicast, which for the kernel's socket
// calls netlink_unicast_kernel and so the connector's input function
// cn_rx_skb, which calls cn_call_callback, which calls the registered
// callback (Linux v6.1 net/netlink/af_netlink.c netlink_sendmsg →
// netlink_unicast → netlink_unicast_kernel → nlk->netlink_rcv;
// drivers/connector/connector.c cn_rx_skb → cn_call_callback →
// cbq->callback). A reply the callback sends with cn_netlink_send goes
// through netlink_unicast or netlink_broadcast to __netlink_sendskb, which
// puts it on the receiving socket's queue (skb_queue_tail) before it
// returns. The same holds for a message the connector drops (an unknown
// id, a bad length, cn_rx_skb's size checks): the drop happens inside the
// sendmsg too. So when sendmsg returns, every message that the request
// caused is already queued, on the sender's socket and on every member of
// a multicast group.
//
// Prove uses that. Nothing queued right after a send (a receive that does
// not wait finds nothing), and then the echo of a sentinel sent after it
// is the very next message: had the first request caused anything, it
// would be queued before the sentinel's echo. This cannot pass by being
// slow, and costs one round trip.
//
// # The control
//
// The argument holds only while nothing replies later, from another
// context (a workqueue, a timer). Control is the check of that
// assumption: it sends one message, takes what is queued when the send
// returns, then listens for a window, and reports anything that arrives
// in the window as a *LateError. The guest suite runs it once on its echo
// id; the harness's self-test runs it on the fault module's late id, which
// echoes from a workqueue, and expects it to fail.
package silence

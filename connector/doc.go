// SPDX-License-Identifier: MIT

// Package connector is a client for the Linux kernel connector
// (NETLINK_CONNECTOR), the netlink family through which kernel modules such
// as cn_proc and the cnvmtest echo module exchange struct cn_msg messages
// with user space.
//
// Facts below cite the project's design notes, docs/connector.md, by section.
//
// # Wire format
//
// Each netlink message carries one cn_msg (§1.1), in host byte order:
//
//	offset  size  field
//	0       16    struct nlmsghdr
//	16      8     id (idx, val): the callback, see ID
//	24      4     seq
//	28      4     ack
//	32      2     len: bytes of data
//	34      2     flags
//	36      len   data
//
// Message.MarshalBinary and UnmarshalBinary encode the 20 bytes from offset
// 16 on; the data at offset 36 is only 4-byte aligned. Send frames a Message
// as §9 advises: type NLMSG_DONE, nlmsg_seq equal to the cn_msg seq, and an
// exact nlmsg_len. The kernel never rounds nlmsg_len
// up either; it pads the datagram instead (§1.2), and Receive accepts both.
//
// # Replies
//
// The kernel gives seq, ack and flags no meaning: cn_netlink_send copies the
// whole cn_msg a module hands it (§1.2). Request therefore encodes the
// convention of this project's echo module, kmod/cn_echo.c, not a kernel
// rule: a reply has the request's ID and Seq and an Ack one higher.
//
// Kernel messages come from port 0 and carry nlmsg_pid 0 and nlmsg_seq equal
// to the cn_msg seq. A multicast names its group in the source address,
// which ReceiveFrom reports as Received.Groups. Receive drops datagrams from
// any other port: a process with CAP_NET_ADMIN can send to any port and fake
// a kernel message.
//
// # Kernel versions
//
// These hold on every kernel the project tests, 5.10 to 7.3, except where a
// version is named:
//
//   - The kernel never reports an error for a message it drops (§1.3):
//     malformed framing, a cn_msg.len that overruns the message, an unknown
//     ID and data longer than MaxDataLen (16364 bytes, §1.4) all make Send
//     succeed and nothing arrive. Only a zero-length datagram fails, with
//     ENODATA. A callback sees only the first message of a datagram.
//   - When replies overrun the socket's receive buffer, the next Receive
//     fails once with ENOBUFS, and then the queued replies follow in order
//     (§2.5). Config.NoENOBUFS makes such drops silent.
//   - The kernel's connector socket exists only in the initial network
//     namespace; from any other, Send fails with ECONNREFUSED (§3.3).
//   - Joining a group needs CAP_NET_ADMIN. On 6.6 and later, a bug in
//     cn_bind lets anyone join an odd-numbered group (§3.2), so tests that
//     expect EPERM should use an even group.
//   - The kernel rejects groups 0 and above 32 with EINVAL (§2.3).
//
// # Process events
//
// cn_proc, the process events connector, has ID ProcID (1:1) and
// multicasts to group ProcGroup (§5). ListenProc joins the group and sends
// LISTEN; ParseProcEvent decodes what arrives: a 40-byte struct proc_event
// at wire offset 36, whose 8-byte timestamp sits unaligned at offset 44
// (§1.1, §5.1). cn_proc behaves differently before and from 6.6, when
// commit 2aa1f7a1f47c replaced its global listener count with per-socket
// state (§6 item 14):
//
//   - Joining group 1 needs CAP_NET_ADMIN before 6.6. From 6.6 anyone may
//     join it, and through the cn_bind bug any odd group (§3.1, §3.2).
//   - LISTEN and IGNORE need CAP_NET_ADMIN of the socket's opener before
//     6.6; otherwise the ack reports EPERM. From 6.6 there is no check.
//     On every version a request from outside the initial user and pid
//     namespaces is ignored without an ack (§3.1).
//   - Before 6.6 LISTEN and IGNORE only move a global count. Events go to
//     every member of group 1 while it is positive, so a socket still gets
//     events after its own IGNORE, and an IGNORE without a LISTEN drives
//     the count below zero: then no events and no acks, for everyone,
//     until enough LISTENs follow (§5.3). From 6.6 each socket counts once
//     and IGNORE stops that socket's events. On no version does closing a
//     socket undo its LISTEN, which is why ProcListener.Close sends IGNORE
//     (§5.3, §5.4 item 6).
//   - Filters (ProcFilterRequest, ProcConfig.Events) exist from 6.6 only:
//     earlier kernels drop the 8-byte request silently (§5.1).
//     ProcEventNonzeroExit passes only exits with a non-zero code.
//   - An ack is a multicast to group 1, so every listener sees every
//     ack, and a socket outside the group never sees its own. The kernel
//     sets its ack to the request's ack+1 but overwrites seq with a
//     per-CPU counter, so acks are matched by ack and What alone. No ack
//     is sent while the count is below 1, and from 6.6 none reaches a
//     socket that sent IGNORE or filters with anything but ProcEventAll
//     (§5.2).
//   - A member of group 1 that never sent LISTEN still gets every event
//     while someone else listens (§5.3).
package connector

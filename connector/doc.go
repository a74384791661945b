// Package connector is a client for the Linux kernel connector
// (NETLINK_CONNECTOR), the netlink family through which kernel modules such
// as cn_proc and the cnvmtest echo module exchange struct cn_msg messages
// with user space.
//
// Facts below cite the project's design notes, connector.md, by section.
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
package connector

// SPDX-License-Identifier: MIT

package connector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mdlayher/netlink"
)

// defaultRecvBufSize holds any datagram the kernel sends to userspace: an
// echo of MaxDataLen bytes is 16400, and a module may send up to 65535 data
// bytes (docs/connector.md §1.4).
const defaultRecvBufSize = 64 << 10

// Config configures Dial. A nil *Config is the zero value: no multicast
// groups and the kernel's buffer defaults.
type Config struct {
	// Groups lists the multicast groups (1..32) to join after binding. The
	// kernel decides who may join (docs/connector.md §3).
	Groups []uint32

	// ReadBuffer, if positive, sets SO_RCVBUF (the kernel doubles it). It
	// moves the point where unread replies overrun the socket (§2.5).
	ReadBuffer int

	// NoENOBUFS sets NETLINK_NO_ENOBUFS: overruns drop replies silently
	// instead of failing the next Receive with ENOBUFS.
	NoENOBUFS bool

	// RecvBufSize is the user-space buffer for one datagram, 64 KiB if not
	// positive. A longer datagram makes Receive fail with ErrTruncated.
	RecvBufSize int
}

// A Received is a Message and where it came from.
type Received struct {
	Message

	// Groups is the sender's nl_groups: 0 for a unicast, 1<<(g-1) for a
	// multicast to group g.
	Groups uint32

	// Header is the nlmsghdr as received. Header.Length is the exact
	// nlmsg_len, not rounded up.
	Header netlink.Header
}

// Stats counts what a Conn has received.
type Stats struct {
	// Datagrams read from the socket, dropped ones included.
	Datagrams uint64

	// NotFromKernel counts datagrams dropped because their source port was
	// not 0. Only a process with CAP_NET_ADMIN can send them; trusting them
	// is the CVE-2012-5532 class of bug.
	NotFromKernel uint64

	// Unmatched counts messages Request discarded while waiting.
	Unmatched uint64
}

// A Conn is a NETLINK_CONNECTOR socket bound to a kernel-chosen port.
//
// Send, SendRaw, Subscribe and Unsubscribe may run concurrently with each
// other and with a receive. Receive, ReceiveFrom and Request take turns,
// because they share one receive buffer (and, on a socket from netlink.Dial
// given to NewConn, the socket's single read deadline). Two Requests on one
// Conn would discard each other's replies: give each requester its own Conn.
type Conn struct {
	nl *netlink.Conn
	t  transport

	// rmu serialises receives: they share the read deadline and the buffer.
	rmu sync.Mutex

	// closed turns the poller's unexported "use of closed file" into
	// net.ErrClosed for callers.
	closed atomic.Bool

	datagrams, notKernel, unmatched atomic.Uint64
}

// transport moves whole datagrams between a Conn and the kernel: a socket on
// Linux, or netlink.Conn's own Send and Receive for an nltest fake.
type transport interface {
	// send writes b as one datagram to the kernel.
	send(b []byte) (int, error)

	// sendRequest writes m framed as marshalRequest frames it. Data fits
	// cn_msg.len: the caller checked.
	sendRequest(m Message) error

	// receive returns the next datagram, or ctx.Err() once ctx is done.
	receive(ctx context.Context) (datagram, error)
}

// A datagram is what one recvfrom returned.
type datagram struct {
	b      []byte // valid until the next receive
	size   int    // real length; larger than len(b) if truncated
	port   uint32 // sender's nl_pid
	groups uint32 // sender's nl_groups
}

// Dial opens a NETLINK_CONNECTOR socket, binds it with no groups and then
// applies cfg, which may be nil.
//
// On Linux the socket is not registered with the Go runtime's network
// poller: a receive that finds nothing queued waits in a blocking ppoll
// system call instead, so that a datagram wakes no thread but a waiting
// receiver's: under emulation on one CPU each needless wake-up shows in a
// round trip.
func Dial(cfg *Config) (*Conn, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	return dial(cfg)
}

// NewConn wraps nl, which should be a netlink.Conn of family Protocol: one
// from netlink.Dial, or a fake from nltest.Dial for tests.
//
// A fake has no socket, so with it every datagram counts as a unicast from
// the kernel, Receive checks ctx only before it starts, SendRaw needs at
// least a 16-byte netlink header, and netlink.Conn.Send replaces a zero
// nlmsg_seq or nlmsg_pid before the fake sees them.
func NewConn(nl *netlink.Conn) *Conn {
	return &Conn{nl: nl, t: newTransport(nl, defaultRecvBufSize)}
}

// Close closes the socket. A pending or later call then fails with an error
// wrapping net.ErrClosed.
func (c *Conn) Close() error {
	c.closed.Store(true)
	return newOpError("close", c.nl.Close())
}

// ioError is newOpError for socket I/O, which fails in the poller's own
// terms once the socket is closed.
func (c *Conn) ioError(op string, err error) error {
	if err != nil && c.closed.Load() {
		err = net.ErrClosed
	}
	return newOpError(op, err)
}

// PortID returns the socket's netlink port ID, the nl_pid the kernel sees
// as the sender. Only the first socket of a process gets its pid.
func (c *Conn) PortID() uint32 { return c.nl.PID() }

// Stats returns the Conn's counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Datagrams:     c.datagrams.Load(),
		NotFromKernel: c.notKernel.Load(),
		Unmatched:     c.unmatched.Load(),
	}
}

// Send writes m to the kernel as one netlink message of type NLMSG_DONE with
// nlmsg_seq = m.Seq and an exact, unpadded nlmsg_len.
//
// Send does not enforce MaxDataLen, so tests can show that the kernel drops
// longer messages; it refuses only data longer than 65535 bytes, which
// cn_msg.len cannot express. A nil error means the kernel took the
// datagram, not that a callback accepted it: the connector never reports
// a dropped message (docs/connector.md §1.3).
func (c *Conn) Send(m Message) error {
	if len(m.Data) > math.MaxUint16 {
		return newOpError("send", errDataTooLong)
	}
	return c.ioError("send", c.t.sendRequest(m))
}

// SendRaw writes b unchanged as one datagram to the kernel and returns the
// byte count sendto reported. It exists for malformed-input tests.
func (c *Conn) SendRaw(b []byte) (int, error) {
	n, err := c.t.send(b)
	return n, c.ioError("send-raw", err)
}

// Receive waits for a datagram from the kernel and returns its messages.
// See ReceiveFrom.
func (c *Conn) Receive(ctx context.Context) ([]Message, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()

	d, err := c.receiveDatagram(ctx)
	if err != nil {
		return nil, err
	}
	ms := []Message{}
	err = walkDatagram(d.b, func(_ netlink.Header, m Message) {
		m.Data = cloneData(m.Data)
		ms = append(ms, m)
	})
	if err != nil {
		return nil, newOpError("receive", err)
	}
	return ms, nil
}

// ReceiveFrom waits for a datagram from the kernel and returns its messages
// with their source. It skips, and counts in Stats, datagrams from any other
// port. When ctx is done it returns an *OpError wrapping ctx.Err().
//
// An error wrapping unix.ENOBUFS means the socket overran and replies were
// lost; the queued ones follow on the next call (docs/connector.md §2.5).
func (c *Conn) ReceiveFrom(ctx context.Context) ([]Received, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()

	d, err := c.receiveDatagram(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := parseDatagram(d.b, d.groups)
	if err != nil {
		return nil, newOpError("receive", err)
	}
	return rs, nil
}

// receiveDatagram returns the next datagram from the kernel, skipping and
// counting others. c.rmu must be held for as long as d.b is used.
func (c *Conn) receiveDatagram(ctx context.Context) (datagram, error) {
	for {
		d, err := c.t.receive(ctx)
		if err != nil {
			return datagram{}, c.ioError("receive", err)
		}
		c.datagrams.Add(1)

		if d.port != 0 {
			c.notKernel.Add(1)
			continue
		}
		if d.size > len(d.b) {
			return datagram{}, newOpError("receive", fmt.Errorf("%w: %d-byte datagram, %d-byte buffer",
				ErrTruncated, d.size, len(d.b)))
		}
		return d, nil
	}
}

// Request sends m and returns the first message from the kernel with m's ID
// and Seq and an Ack of m.Ack+1, discarding others. That is the reply
// convention of kmod/cn_echo.c; the kernel only copies fields (docs/connector.md
// §1.2). cn_proc acks do not match it: they change Seq. ctx bounds the wait, and
// any receive error, ENOBUFS included, ends it.
//
// Request reads datagrams as ReceiveFrom does, so a malformed datagram is an
// error even if it holds the reply, and the messages after the reply in its
// datagram are dropped without being counted as Unmatched.
func (c *Conn) Request(ctx context.Context, m Message) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, newOpError("request", err)
	}
	if err := c.Send(m); err != nil {
		return Message{}, err
	}
	for {
		r, ok, err := c.receiveReply(ctx, m)
		if err != nil {
			return Message{}, err
		}
		if ok {
			return r, nil
		}
	}
}

// receiveReply reads one datagram and returns the reply to req in it, if
// any, with its own copy of the data; it parses in place, without the
// []Received of ReceiveFrom.
func (c *Conn) receiveReply(ctx context.Context, req Message) (reply Message, ok bool, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()

	d, err := c.receiveDatagram(ctx)
	if err != nil {
		return Message{}, false, err
	}
	var skipped uint64
	err = walkDatagram(d.b, func(_ netlink.Header, m Message) {
		switch {
		case ok:
		case isReply(req, m):
			reply, ok = m, true
		default:
			skipped++
		}
	})
	if err != nil {
		return Message{}, false, newOpError("receive", err)
	}
	if skipped > 0 {
		c.unmatched.Add(skipped)
	}
	reply.Data = cloneData(reply.Data)
	return reply, ok, nil
}

func isReply(req, m Message) bool {
	return m.ID == req.ID && m.Seq == req.Seq && m.Ack == req.Ack+1
}

// Subscribe joins multicast group g (NETLINK_ADD_MEMBERSHIP). The kernel
// rejects 0 and groups above 32 with EINVAL; permission rules differ by
// kernel version (docs/connector.md §3).
func (c *Conn) Subscribe(g uint32) error {
	return newOpError("subscribe", c.nl.JoinGroup(g))
}

// Unsubscribe leaves multicast group g (NETLINK_DROP_MEMBERSHIP).
func (c *Conn) Unsubscribe(g uint32) error {
	return newOpError("unsubscribe", c.nl.LeaveGroup(g))
}

// SyscallConn returns the raw socket, for socket options this package does
// not cover. Reading from it competes with Receive.
//
// For a Conn from Dial, the socket is not in the runtime poller: Read and
// Write call their function again after ppoll reports the socket ready,
// with no deadline, so only Close ends their wait; all three methods fail
// with an error wrapping net.ErrClosed once Close has begun.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.nl.SyscallConn()
	if err != nil {
		return nil, newOpError("syscall-conn", err)
	}
	return rc, nil
}

// nlTransport is the transport of a netlink.Conn without a socket, such as
// an nltest fake.
type nlTransport struct{ nl *netlink.Conn }

var errShortDatagram = errors.New("a fake connection cannot send less than a netlink header")

func (t *nlTransport) sendRequest(m Message) error {
	_, err := t.send(appendRequest(nil, m))
	return err
}

func (t *nlTransport) send(b []byte) (int, error) {
	if len(b) < nlHeaderLen {
		return 0, errShortDatagram
	}
	_, err := t.nl.Send(netlink.Message{Header: netlinkHeader(b), Data: b[nlHeaderLen:]})
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// receive frames the fake's messages as the kernel would, so that the same
// parser reads them as reads real datagrams.
func (t *nlTransport) receive(ctx context.Context) (datagram, error) {
	if err := ctx.Err(); err != nil {
		return datagram{}, err
	}
	msgs, err := t.nl.Receive()
	if err != nil {
		return datagram{}, err
	}
	var b []byte
	for _, m := range msgs {
		b = appendNetlink(b, m.Header, m.Data)
	}
	return datagram{b: b, size: len(b)}, nil
}

// SPDX-License-Identifier: MIT

//go:build linux

package connector

import (
	"context"
	"iter"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// An nlSocket is a NETLINK_CONNECTOR socket that the Go runtime poller does
// not know about. netlink.Dial registers its socket with the poller, whose
// epoll is edge-triggered: every datagram the kernel queues then wakes the
// thread parked in epoll_wait, which finds nothing to do and parks again:
// two context switches per reply, dear under emulation on one vCPU even
// when the receive finds the reply already queued. So Dial makes its own
// socket, and a receive
// that finds nothing queued waits in ppoll, a system call like any other
// blocking one, on the socket and on two eventfds: one Close writes and
// one that cancellation writes.
//
// It implements netlink.Socket and the optional interfaces of netlink.Conn
// that a Conn uses: JoinGroup, LeaveGroup, SetOption and SyscallConn. It
// has no deadlines; a Conn bounds waits with a context instead.
type nlSocket struct {
	fd      int // the netlink socket
	closeFd int // eventfd, readable once Close has begun
	wakeFd  int // eventfd that a cancellable wait's context writes

	// state counts the users of the descriptors, the socket's own
	// reference included until Close drops it, and has closedBit set once
	// Close has begun. The user that drops the count to zero closes them,
	// so that no descriptor number is closed while a system call may still
	// use it.
	state atomic.Uint64

	// cmu gives wakeFd to one cancellable wait at a time. Conn.rmu already
	// serialises them unless two Conns share one netlink.Conn.
	cmu sync.Mutex

	// wake writes wakeFd; bound once, for context.AfterFunc.
	wake func()
}

const closedBit = 1 << 63

var _ netlink.Socket = (*nlSocket)(nil)

// openSocket opens and binds a NETLINK_CONNECTOR socket and returns it with
// the port the kernel chose.
func openSocket() (*nlSocket, uint32, error) {
	// SOCK_DGRAM, as the connector's documentation has it; netlink
	// treats SOCK_RAW (netlink.Dial's) the same.
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		return nil, 0, os.NewSyscallError("socket", err)
	}
	s := &nlSocket{fd: fd, closeFd: -1, wakeFd: -1}
	fail := func(call string, err error) (*nlSocket, uint32, error) {
		s.closeFds()
		return nil, 0, os.NewSyscallError(call, err)
	}
	// Port 0: the kernel picks the port, the pid for a process's first
	// socket.
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fail("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	nsa, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fail("getsockname", unix.EAFNOSUPPORT)
	}
	if s.closeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	if s.wakeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	s.state.Store(1)
	s.wake = func() { signalEventfd(s.wakeFd) }
	return s, nsa.Pid, nil
}

func (s *nlSocket) closeFds() {
	for _, fd := range []int{s.fd, s.closeFd, s.wakeFd} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
}

// incref takes a reference to the descriptors, or reports that Close has
// begun.
func (s *nlSocket) incref() bool {
	for {
		old := s.state.Load()
		if old&closedBit != 0 {
			return false
		}
		if s.state.CompareAndSwap(old, old+1) {
			return true
		}
	}
}

func (s *nlSocket) decref() {
	if s.state.Add(^uint64(0)) == closedBit {
		s.closeFds()
	}
}

func (s *nlSocket) isClosed() bool { return s.state.Load()&closedBit != 0 }

// Close wakes every wait and drops the socket's own reference: the
// descriptors close once the last call using them returns, so a send that
// a slow callback holds in sendto keeps them open until it ends. A second
// Close does nothing, as for netlink.Dial's socket.
func (s *nlSocket) Close() error {
	for {
		old := s.state.Load()
		if old&closedBit != 0 {
			return nil
		}
		if s.state.CompareAndSwap(old, old|closedBit) {
			break
		}
	}
	signalEventfd(s.closeFd) // the own reference still keeps it open
	s.decref()
	return nil
}

// signalEventfd adds one to the eventfd fd, which makes it readable.
func signalEventfd(fd int) {
	one := uint64(1)
	for {
		_, err := unix.Write(fd, (*[8]byte)(unsafe.Pointer(&one))[:])
		if err != unix.EINTR {
			return // EAGAIN only at a count near 2^64
		}
	}
}

// drainEventfd resets the eventfd fd to zero, unreadable.
func drainEventfd(fd int) {
	var b [8]byte
	for {
		if _, err := unix.Read(fd, b[:]); err != unix.EINTR {
			return
		}
	}
}

// control runs f on the socket, or fails with net.ErrClosed.
func (s *nlSocket) control(f func(fd uintptr)) error {
	if !s.incref() {
		return net.ErrClosed
	}
	f(uintptr(s.fd))
	s.decref()
	return nil
}

// waitRead calls try until it returns true, waiting in between for the
// socket to be readable. It fails with ctx.Err() once ctx is done and with
// net.ErrClosed once Close has begun. try runs with the socket open.
func (s *nlSocket) waitRead(ctx context.Context, try func(fd uintptr) bool) error {
	return s.wait(ctx, unix.POLLIN, try)
}

// wait is waitRead for the poll events ev.
func (s *nlSocket) wait(ctx context.Context, ev int16, try func(fd uintptr) bool) (err error) {
	if !s.incref() {
		return net.ErrClosed
	}
	defer s.decref()

	fds := []unix.PollFd{
		{Fd: int32(s.fd), Events: ev},
		{Fd: int32(s.closeFd), Events: unix.POLLIN},
		{Fd: int32(s.wakeFd), Events: unix.POLLIN},
	}
	deadline, hasDeadline := ctx.Deadline()
	if ctx.Done() == nil {
		fds = fds[:2]
	} else {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cmu.Lock()
		defer s.cmu.Unlock()
		stop := context.AfterFunc(ctx, s.wake)
		defer func() {
			if stop() {
				return // s.wake never runs
			}
			// s.wake runs or has run: wait for its write and undo it,
			// so that it cannot cut short a later wait. The reference
			// held until then keeps wakeFd open for it.
			w := []unix.PollFd{{Fd: int32(s.wakeFd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Ppoll(w, nil, nil); err != unix.EINTR {
					break
				}
			}
			drainEventfd(s.wakeFd)
		}()
	}

	var ts *unix.Timespec
	for {
		if hasDeadline {
			left := time.Until(deadline)
			if left <= 0 {
				// ctx reports the deadline a moment after the clock.
				<-ctx.Done()
				return ctx.Err()
			}
			t := unix.NsecToTimespec(left.Nanoseconds())
			ts = &t
		}
		_, err := unix.Ppoll(fds, ts, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("ppoll", err)
		case s.isClosed():
			return net.ErrClosed
		case len(fds) > 2 && fds[2].Revents != 0:
			// Only ctx's hook writes wakeFd, and only once ctx is done.
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if fds[0].Revents != 0 && try(uintptr(s.fd)) {
			return nil
		}
	}
}

// JoinGroup joins multicast group g (NETLINK_ADD_MEMBERSHIP).
func (s *nlSocket) JoinGroup(g uint32) error {
	return s.setsockoptInt(unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g))
}

// LeaveGroup leaves multicast group g (NETLINK_DROP_MEMBERSHIP).
func (s *nlSocket) LeaveGroup(g uint32) error {
	return s.setsockoptInt(unix.SOL_NETLINK, unix.NETLINK_DROP_MEMBERSHIP, int(g))
}

// netlinkOptions maps the options netlink.Conn names to SOL_NETLINK ones.
var netlinkOptions = map[netlink.ConnOption]int{
	netlink.PacketInfo:          unix.NETLINK_PKTINFO,
	netlink.BroadcastError:      unix.NETLINK_BROADCAST_ERROR,
	netlink.NoENOBUFS:           unix.NETLINK_NO_ENOBUFS,
	netlink.ListenAllNSID:       unix.NETLINK_LISTEN_ALL_NSID,
	netlink.CapAcknowledge:      unix.NETLINK_CAP_ACK,
	netlink.ExtendedAcknowledge: unix.NETLINK_EXT_ACK,
	netlink.GetStrictCheck:      unix.NETLINK_GET_STRICT_CHK,
}

// SetOption sets one of the netlink options netlink.Conn names.
func (s *nlSocket) SetOption(option netlink.ConnOption, enable bool) error {
	o, ok := netlinkOptions[option]
	if !ok {
		return os.NewSyscallError("setsockopt", unix.ENOPROTOOPT)
	}
	v := 0
	if enable {
		v = 1
	}
	return s.setsockoptInt(unix.SOL_NETLINK, o, v)
}

func (s *nlSocket) setsockoptInt(level, opt, v int) error {
	var serr error
	if err := s.control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt", serr)
}

// SyscallConn returns the socket as a syscall.RawConn. See rawSocket.
func (s *nlSocket) SyscallConn() (syscall.RawConn, error) { return (*rawSocket)(s), nil }

// Send writes m to the kernel as one datagram, in a blocking sendto.
func (s *nlSocket) Send(m netlink.Message) error { return s.SendMessages([]netlink.Message{m}) }

// SendMessages writes msgs to the kernel as one datagram.
func (s *nlSocket) SendMessages(msgs []netlink.Message) error {
	var b []byte
	for _, m := range msgs {
		mb, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		b = append(b, mb...)
	}
	snd := newSender()
	_, err := snd.send((*rawSocket)(s), b)
	return err
}

// Receive waits for a datagram and returns its messages.
func (s *nlSocket) Receive() ([]netlink.Message, error) {
	var msgs []netlink.Message
	for m, err := range s.ReceiveIter() {
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// ReceiveIter waits for a datagram and yields its messages. Like Conn, and
// unlike netlink.Dial's socket, it drops datagrams not from the kernel.
func (s *nlSocket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		b, err := s.receiveFromKernel()
		if err != nil {
			yield(netlink.Message{}, err)
			return
		}
		for len(b) >= nlHeaderLen {
			l := int(hostOrder.Uint32(b))
			if l < nlHeaderLen || l > len(b) {
				break
			}
			var m netlink.Message
			if err := m.UnmarshalBinary(b[:l]); err != nil {
				yield(netlink.Message{}, err)
				return
			}
			if !yield(m, nil) {
				return
			}
			b = b[min(nlmsgAlign(l), len(b)):]
		}
	}
}

// receiveFromKernel returns the next datagram from port 0 in a buffer of
// its own.
func (s *nlSocket) receiveFromKernel() ([]byte, error) {
	for {
		// Peek at the size, then read into a buffer that fits. Another
		// reader may take the datagram in between: then this one reads
		// the next, and tries again if that one does not fit.
		n, _, err := s.recvfrom(nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err != nil {
			return nil, err
		}
		b := make([]byte, max(n, 1))
		n, from, err := s.recvfrom(b, unix.MSG_TRUNC)
		if err != nil {
			return nil, err
		}
		if sa, ok := from.(*unix.SockaddrNetlink); ok && sa.Pid == 0 && n <= len(b) {
			return b[:n], nil
		}
	}
}

// recvfrom waits for a datagram and calls recvfrom(2) with flags.
func (s *nlSocket) recvfrom(b []byte, flags int) (n int, from unix.Sockaddr, err error) {
	try := func(fd uintptr) bool {
		n, from, err = unix.Recvfrom(int(fd), b, flags|unix.MSG_DONTWAIT)
		return err != unix.EAGAIN
	}
	if werr := (*rawSocket)(s).Read(try); werr != nil {
		return 0, nil, werr
	}
	return n, from, os.NewSyscallError("recvfrom", err)
}

// rawSocket is an nlSocket as a syscall.RawConn. Control runs f with the
// socket open. Read and Write call f until it returns true, waiting for the
// socket in ppoll, not in the runtime poller, in between; only Close ends
// that wait, since the socket has no deadlines. All three fail with
// net.ErrClosed after Close.
type rawSocket nlSocket

func (r *rawSocket) Control(f func(fd uintptr)) error { return (*nlSocket)(r).control(f) }

func (r *rawSocket) Read(f func(fd uintptr) bool) error {
	return (*nlSocket)(r).waitIO(unix.POLLIN, f)
}

func (r *rawSocket) Write(f func(fd uintptr) bool) error {
	return (*nlSocket)(r).waitIO(unix.POLLOUT, f)
}

// waitIO calls f once and, until it returns true, waits for ev and again.
func (s *nlSocket) waitIO(ev int16, f func(fd uintptr) bool) error {
	var done bool
	if err := s.control(func(fd uintptr) { done = f(fd) }); err != nil || done {
		return err
	}
	return s.wait(context.Background(), ev, f)
}

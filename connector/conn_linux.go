// SPDX-License-Identifier: MIT

//go:build linux

package connector

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func dial(cfg *Config) (*Conn, error) {
	// Groups are joined one by one below, not through the bind bitmask, so
	// that an error names the group the kernel refused.
	s, pid, err := openSocket()
	if err != nil {
		return nil, newOpError("dial", err)
	}
	nl := netlink.NewConn(s, pid)
	size := cfg.RecvBufSize
	if size <= 0 {
		size = defaultRecvBufSize
	}
	t, err := newSocketTransport(nl, size)
	if err != nil {
		_ = nl.Close()
		return nil, newOpError("dial", err)
	}
	c := &Conn{nl: nl, t: t}
	if err := c.configure(t, cfg); err != nil {
		_ = nl.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) configure(t *socketTransport, cfg *Config) error {
	if cfg.ReadBuffer > 0 {
		if err := t.setReadBuffer(cfg.ReadBuffer); err != nil {
			return newOpError("set-read-buffer", err)
		}
	}
	if cfg.NoENOBUFS {
		if err := c.nl.SetOption(netlink.NoENOBUFS, true); err != nil {
			return newOpError("set-option", err)
		}
	}
	for _, g := range cfg.Groups {
		if err := c.Subscribe(g); err != nil {
			return err
		}
	}
	return nil
}

// newTransport uses the socket when there is one; an nltest fake has none.
func newTransport(nl *netlink.Conn, bufSize int) transport {
	t, err := newSocketTransport(nl, bufSize)
	if err != nil {
		return &nlTransport{nl: nl}
	}
	return t
}

// socketTransport does its own sendto and recvfrom on the netlink socket:
// netlink.Conn rounds nlmsg_len up and rewrites nlmsg_seq when sending, and
// when receiving it hides the source address and MSG_TRUNC.
//
// Under emulation every instruction and allocation of a round trip shows, so
// the common path allocates nothing: the system calls go through
// unix.Syscall6 with addresses kept here, and the functions handed to the
// syscall.RawConn are bound once, in newSocketTransport.
type socketTransport struct {
	nl *netlink.Conn // owns the socket (and, from netlink.Dial, its read deadline)
	rc syscall.RawConn

	// s is Dial's socket, which waits without the runtime poller; nil for
	// one from netlink.Dial, given to NewConn.
	s *nlSocket

	// The receive state is guarded by Conn.rmu.
	buf      []byte
	from     unix.RawSockaddrNetlink
	fromLen  uint32
	rn       int                // what the last recvfrom returned
	rerr     unix.Errno         // and its error, 0 for none
	tryRecv  func(uintptr)      // one recvfrom that does not wait
	readRecv func(uintptr) bool // tryRecv for RawConn.Read

	// w serves one send at a time; a concurrent send gets a sender of its
	// own rather than wait, since a callback can hold a sender inside
	// sendto for as long as it runs (docs/connector.md §2.4).
	wmu  sync.Mutex
	w    *sender
	wbuf []byte // Send's request, framed in place
}

func newSocketTransport(nl *netlink.Conn, bufSize int) (*socketTransport, error) {
	rc, err := nl.SyscallConn()
	if err != nil {
		return nil, err
	}
	t := &socketTransport{nl: nl, rc: rc, buf: make([]byte, bufSize), w: newSender()}
	if rs, ok := rc.(*rawSocket); ok {
		t.s = (*nlSocket)(rs)
	}
	t.tryRecv = t.recvfrom
	t.readRecv = func(fd uintptr) bool {
		t.recvfrom(fd)
		return t.rerr != unix.EAGAIN
	}
	return t, nil
}

// kernelAddr is the kernel's address: port 0, no groups. It is only read.
var kernelAddr = unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}

// A sender is the state of one sendto to the kernel.
type sender struct {
	b    []byte
	n    int
	err  unix.Errno
	call func(uintptr)
}

func newSender() *sender {
	s := &sender{}
	s.call = s.sendto
	return s
}

// send writes b with sendto. It reports EAGAIN instead of waiting for
// writability, which a netlink socket never signals. A send to the kernel
// completes inside sendto (docs/connector.md §2.4) and does not fail that way.
func (s *sender) send(rc syscall.RawConn, b []byte) (int, error) {
	s.b = b
	err := rc.Control(s.call)
	s.b = nil // keep no caller's buffer alive
	if err != nil {
		return 0, err
	}
	if s.err != 0 {
		return 0, os.NewSyscallError("sendto", s.err)
	}
	return s.n, nil
}

func (s *sender) sendto(fd uintptr) {
	p := unsafe.Pointer(unsafe.SliceData(s.b)) // nil for no data: ENODATA
	for {
		n, _, errno := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(p), uintptr(len(s.b)), 0,
			uintptr(unsafe.Pointer(&kernelAddr)), unix.SizeofSockaddrNetlink)
		// The Go runtime signals threads (SIGURG), and a callback may
		// hold the sender inside sendto for as long as it runs.
		if errno != unix.EINTR {
			s.n, s.err = int(n), errno
			return
		}
	}
}

func (t *socketTransport) send(b []byte) (int, error) {
	if !t.wmu.TryLock() {
		return newSender().send(t.rc, b)
	}
	defer t.wmu.Unlock()
	return t.w.send(t.rc, b)
}

func (t *socketTransport) sendRequest(m Message) error {
	if !t.wmu.TryLock() {
		_, err := newSender().send(t.rc, appendRequest(nil, m))
		return err
	}
	defer t.wmu.Unlock()
	t.wbuf = appendRequest(t.wbuf[:0], m)
	_, err := t.w.send(t.rc, t.wbuf)
	return err
}

// receive first tries a recvfrom that does not wait: the kernel queues a
// reply inside the sendto that asked for it (docs/connector.md §2.4), so a
// Request usually finds it there. Only when nothing is queued does it wait:
// in ppoll on Dial's socket (see nlSocket), or with the read deadline armed
// for ctx in the runtime poller on a socket from netlink.Dial.
func (t *socketTransport) receive(ctx context.Context) (datagram, error) {
	if err := ctx.Err(); err != nil {
		return datagram{}, err
	}
	if err := t.rc.Control(t.tryRecv); err != nil {
		return datagram{}, err
	}
	if t.rerr == unix.EAGAIN {
		var err error
		if t.s != nil {
			err = t.s.waitRead(ctx, t.readRecv)
		} else {
			err = t.wait(ctx)
		}
		if err != nil {
			return datagram{}, err
		}
	}
	if t.rerr != 0 {
		return datagram{}, os.NewSyscallError("recvfrom", t.rerr)
	}

	// With MSG_TRUNC, recvfrom returns the datagram's real length, so a
	// datagram longer than the buffer was truncated (docs/connector.md §1.5).
	n := t.rn
	d := datagram{b: t.buf[:min(n, len(t.buf))], size: n}
	if t.fromLen >= unix.SizeofSockaddrNetlink && t.from.Family == unix.AF_NETLINK {
		d.port, d.groups = t.from.Pid, t.from.Groups
	} else {
		d.port = ^uint32(0) // no netlink source: not provably the kernel
	}
	return d, nil
}

// recvfrom reads one datagram into t.buf without waiting. A call that
// cannot block needs no hand-off of the scheduler's P, so it is a raw one.
func (t *socketTransport) recvfrom(fd uintptr) {
	for {
		t.fromLen = unix.SizeofSockaddrNetlink
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)), unix.MSG_TRUNC|unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&t.from)), uintptr(unsafe.Pointer(&t.fromLen)))
		if errno != unix.EINTR {
			t.rn, t.rerr = int(n), errno
			return
		}
	}
}

// wait blocks in the runtime poller until a recvfrom succeeds, ctx is done
// or the socket closes.
func (t *socketTransport) wait(ctx context.Context) error {
	disarm, err := t.armDeadline(ctx)
	if err != nil {
		return err
	}
	defer disarm()

	if err := t.rc.Read(t.readRecv); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Done() != nil {
			// Only ctx sets a deadline; wait until it reports why.
			<-ctx.Done()
			return ctx.Err()
		}
		return err
	}
	return nil
}

// armDeadline makes a blocked read return once ctx is done: ctx's deadline
// becomes the read deadline, and cancellation sets one in the past.
func (t *socketTransport) armDeadline(ctx context.Context) (disarm func(), err error) {
	d, _ := ctx.Deadline() // the zero time clears an older deadline
	if err := t.nl.SetReadDeadline(d); err != nil {
		return nil, err
	}
	if ctx.Done() == nil {
		return func() {}, nil
	}

	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = t.nl.SetReadDeadline(time.Unix(1, 0))
	})
	return func() {
		// A late hook would cut short the next read, so wait it out, then
		// leave no deadline behind for SyscallConn users.
		if !stop() {
			<-fired
		}
		_ = t.nl.SetReadDeadline(time.Time{})
	}, nil
}

// setReadBuffer sets SO_RCVBUF. netlink.Conn.SetReadBuffer tries
// SO_RCVBUFFORCE first, which for root bypasses net.core.rmem_max and so
// moves the overrun point that tests measure (docs/connector.md §2.5).
func (t *socketTransport) setReadBuffer(n int) error {
	var serr error
	err := t.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	})
	if err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt", serr)
}

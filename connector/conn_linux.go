//go:build linux

package connector

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func dial(cfg *Config) (*Conn, error) {
	// Groups are joined one by one below, not through the bind bitmask, so
	// that an error names the group the kernel refused.
	nl, err := netlink.Dial(Protocol, nil)
	if err != nil {
		return nil, newOpError("dial", err)
	}
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

// socketTransport does its own sendmsg and recvmsg on the netlink socket:
// netlink.Conn rounds nlmsg_len up and rewrites nlmsg_seq when sending, and
// when receiving it hides the source address and MSG_TRUNC.
type socketTransport struct {
	nl  *netlink.Conn // owns the socket and its read deadline
	rc  syscall.RawConn
	buf []byte
}

func newSocketTransport(nl *netlink.Conn, bufSize int) (*socketTransport, error) {
	rc, err := nl.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &socketTransport{nl: nl, rc: rc, buf: make([]byte, bufSize)}, nil
}

// kernelAddr is the kernel's address: port 0, no groups.
var kernelAddr = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

func (t *socketTransport) send(b []byte) (int, error) {
	var (
		n    int
		serr error
	)
	// Report EAGAIN instead of waiting for writability, which a netlink
	// socket never signals. A send to the kernel completes inside sendmsg
	// (connector.md §2.4) and does not fail that way.
	err := t.rc.Write(func(fd uintptr) bool {
		n, serr = ignoringEINTR(func() (int, error) {
			return unix.SendmsgN(int(fd), b, nil, kernelAddr, 0)
		})
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, os.NewSyscallError("sendmsg", serr)
}

func (t *socketTransport) receive(ctx context.Context) (datagram, error) {
	if err := ctx.Err(); err != nil {
		return datagram{}, err
	}
	disarm, err := t.armDeadline(ctx)
	if err != nil {
		return datagram{}, err
	}
	defer disarm()

	var (
		n, flags int
		from     unix.Sockaddr
		rerr     error
	)
	err = t.rc.Read(func(fd uintptr) bool {
		// MSG_TRUNC makes recvmsg return the datagram's real length.
		n, _, flags, from, rerr = recvmsg(int(fd), t.buf, unix.MSG_TRUNC)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Done() != nil {
			// Only ctx sets a deadline; wait until it reports why.
			<-ctx.Done()
			return datagram{}, ctx.Err()
		}
		return datagram{}, err
	}
	if rerr != nil {
		return datagram{}, os.NewSyscallError("recvmsg", rerr)
	}

	d := datagram{b: t.buf[:min(n, len(t.buf))], size: n}
	if flags&unix.MSG_TRUNC != 0 {
		d.size = max(n, len(t.buf)+1)
	}
	if sa, ok := from.(*unix.SockaddrNetlink); ok {
		d.port, d.groups = sa.Pid, sa.Groups
	} else {
		d.port = ^uint32(0) // no netlink source: not provably the kernel
	}
	return d, nil
}

func recvmsg(fd int, b []byte, flags int) (n, oobn, recvflags int, from unix.Sockaddr, err error) {
	for {
		n, oobn, recvflags, from, err = unix.Recvmsg(fd, b, nil, flags)
		if err != unix.EINTR {
			return
		}
	}
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
// moves the overrun point that tests measure (connector.md §2.5).
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

// ignoringEINTR retries f while a signal interrupts it: the Go runtime
// signals threads (SIGURG) and a callback may hold the sender inside
// sendmsg for as long as it runs (connector.md §2.4).
func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

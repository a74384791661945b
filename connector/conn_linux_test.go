// SPDX-License-Identifier: MIT

//go:build linux

package connector

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// silentID is registered by no module, so the kernel drops messages to it.
var silentID = ID{Idx: 31, Val: 0xdeadbeef}

func dialSocket(t *testing.T) (*Conn, *socketTransport) {
	t.Helper()
	c, err := Dial(nil)
	if err != nil {
		t.Skipf("skipping: cannot open a NETLINK_CONNECTOR socket here: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	st, ok := c.t.(*socketTransport)
	if !ok {
		t.Fatalf("Dial made a %T, want a *socketTransport", c.t)
	}
	return c, st
}

// TestSendWhileSending covers the sends that find the transport's own
// sender busy, as when a slow callback holds another Send inside sendto:
// they use a sender of their own instead of waiting.
func TestSendWhileSending(t *testing.T) {
	c, st := dialSocket(t)

	st.wmu.Lock()
	done := make(chan error, 2)
	go func() { done <- c.Send(Message{ID: silentID, Data: []byte("x")}) }()
	go func() {
		_, err := c.SendRaw(make([]byte, 8))
		done <- err
	}()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("send while the sender is busy: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a send waited for the busy sender")
		}
	}
	st.wmu.Unlock()

	// Many senders at once, for the race detector.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				if err := c.Send(Message{ID: silentID, Seq: uint32(i*100 + j), Data: make([]byte, j)}); err != nil {
					t.Errorf("concurrent send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	// Nothing came back, and Receive still waits and times out.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if ms, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, %v; want context.DeadlineExceeded", ms, err)
	}
}

// TestSocketNotInPoller checks what Dial's socket is for: the runtime
// poller's epoll set does not hold it, so a datagram wakes no thread.
func TestSocketNotInPoller(t *testing.T) {
	_, st := dialSocket(t)
	if st.s == nil {
		t.Fatal("Dial's transport has no nlSocket")
	}
	// Make sure the poller exists and watches something.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("skipping: no /proc/self/fd: %v", err)
	}
	var polls int
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.Contains(link, "eventpoll") {
			continue
		}
		polls++
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(info), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "tfd:" {
				continue
			}
			for _, fd := range []int{st.s.fd, st.s.closeFd, st.s.wakeFd} {
				if f[1] == strconv.Itoa(fd) {
					t.Errorf("epoll fd %s watches fd %d: %s", e.Name(), fd, l)
				}
			}
		}
	}
	if polls == 0 {
		t.Skip("skipping: found no epoll instance to inspect")
	}
}

// TestWaitCancelLeavesNoWake cancels waits at many points, before, during
// and after the wait starts. Each wait ends with context.Canceled and
// leaves wakeFd drained, so no stale wake cuts a later wait short.
func TestWaitCancelLeavesNoWake(t *testing.T) {
	c, st := dialSocket(t)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		d := time.Duration(i%20) * 50 * time.Microsecond
		time.AfterFunc(d, cancel)
		if ms, err := c.Receive(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Receive = %v, %v; want context.Canceled", ms, err)
		}
		cancel()
		var b [8]byte
		if _, err := unix.Read(st.s.wakeFd, b[:]); err != unix.EAGAIN {
			t.Fatalf("after cancel %d, wakeFd read = %v (%x); want EAGAIN", i, err, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("Receive waited %v of its 100ms", d)
	}
}

// TestCloseDuringWait closes the Conn while a Receive waits with each kind
// of context; the wait ends with net.ErrClosed and the descriptors close.
func TestCloseDuringWait(t *testing.T) {
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, st := dialSocket(t)
			ctx, cancel := tt.ctx()
			defer cancel()
			closeEnds(t, c, "Receive", func() error {
				_, err := c.Receive(ctx)
				return err
			})
			if got := st.s.state.Load(); got != closedBit {
				t.Fatalf("state after Close = %#x, want closed with no users", got)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := c.Receive(ctx); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Receive after Close = %v, want net.ErrClosed", err)
			}
			rc, err := c.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Control(func(uintptr) {}); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Control after Close = %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestCloseWaitsForUsers shows that Close leaves the descriptors open for
// a call still using them, such as a send a slow callback holds in sendto,
// and that the last such call closes them.
func TestCloseWaitsForUsers(t *testing.T) {
	c, st := dialSocket(t)
	s := st.s
	if !s.incref() {
		t.Fatal("incref failed on an open socket")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(s.fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("socket closed under a user: %v", err)
	}
	if err := c.Send(Message{ID: silentID}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close = %v, want net.ErrClosed", err)
	}
	s.decref()
	if got := s.state.Load(); got != closedBit {
		t.Fatalf("state = %#x, want closed with no users", got)
	}
}

// TestRawConnRead has a reader wait in SyscallConn's Read while Receive
// waits and is canceled: the cancellation does not end the Read, a
// datagram does, and Close ends a Read that waits again.
func TestRawConnRead(t *testing.T) {
	c, _ := dialSocket(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	read := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			var n int
			var rerr error
			err := rc.Read(func(fd uintptr) bool {
				n, _, rerr = unix.Recvfrom(int(fd), make([]byte, 64), unix.MSG_DONTWAIT)
				return rerr != unix.EAGAIN
			})
			if err == nil {
				err = rerr
			}
			ch <- result{n, err}
		}()
		return ch
	}
	r1 := read()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := c.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive = %v, want context.Canceled", err)
	}
	select {
	case r := <-r1:
		t.Fatalf("Read ended without a datagram: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}

	// A datagram from another port needs CAP_NET_ADMIN.
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = unix.Sendto(fd, make([]byte, 20), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.PortID()})
	if errors.Is(err, unix.EPERM) {
		_ = c.Close()
		if r := <-r1; !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("Read after Close = %+v, want net.ErrClosed", r)
		}
		t.Skipf("skipping the datagram: sending to another port needs CAP_NET_ADMIN: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-r1:
		if r.err != nil || r.n != 20 {
			t.Fatalf("Read = %+v, want the 20-byte datagram", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read missed the datagram")
	}

	r2 := read()
	time.Sleep(20 * time.Millisecond)
	_ = c.Close()
	select {
	case r := <-r2:
		if !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("Read after Close = %+v, want net.ErrClosed", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waits after Close")
	}
}

// TestNetlinkConnIO uses the netlink.Conn that Dial wraps as netlink.Socket
// users do: Send, and a Receive that Close ends.
func TestNetlinkConnIO(t *testing.T) {
	c, _ := dialSocket(t)
	m, err := c.nl.Send(netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: make([]byte, 20)})
	if err != nil {
		t.Fatalf("netlink.Conn.Send: %v", err)
	}
	if m.Header.PID != c.PortID() {
		t.Fatalf("sent with nlmsg_pid %d, want the port %d", m.Header.PID, c.PortID())
	}
	closeEnds(t, c, "netlink.Conn.Receive", func() error {
		_, err := c.nl.Receive()
		return err
	})
}

// TestCloseRace closes Conns while senders, a receiver and a SyscallConn
// user run, for the race detector and the reference count.
func TestCloseRace(t *testing.T) {
	for range 20 {
		c, st := dialSocket(t)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for c.Send(Message{ID: silentID}) == nil {
				}
			})
		}
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for {
				if _, err := c.Receive(ctx); errors.Is(err, net.ErrClosed) {
					return
				}
			}
		})
		wg.Go(func() {
			rc, _ := c.SyscallConn()
			for rc.Control(func(uintptr) {}) == nil {
			}
		})
		time.Sleep(5 * time.Millisecond)
		_ = c.Close()
		wg.Wait()
		if got := st.s.state.Load(); got != closedBit {
			t.Fatalf("state = %#x, want closed with no users", got)
		}
	}
}

// TestNewConnPollerSocket keeps the other path working: NewConn with a
// socket from netlink.Dial, which waits in the runtime poller.
func TestNewConnPollerSocket(t *testing.T) {
	nl, err := netlink.Dial(Protocol, nil)
	if err != nil {
		t.Skipf("skipping: cannot open a NETLINK_CONNECTOR socket here: %v", err)
	}
	c := NewConn(nl)
	defer c.Close()
	st, ok := c.t.(*socketTransport)
	if !ok || st.s != nil {
		t.Fatalf("NewConn made %T (nlSocket %v), want a poller socketTransport", c.t, ok)
	}
	if err := c.Send(Message{ID: silentID}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, want context.DeadlineExceeded", err)
	}
	closeEnds(t, c, "Receive", func() error {
		_, err := c.Receive(context.Background())
		return err
	})
}

// closeEnds runs call, which should wait, closes c once it is waiting and
// fails unless call then returns an error wrapping net.ErrClosed.
func closeEnds(t *testing.T, c *Conn, what string, call func() error) {
	t.Helper()
	errC := make(chan error, 1)
	go func() { errC <- call() }()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errC:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("%s = %v, want net.ErrClosed", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits after Close", what)
	}
}

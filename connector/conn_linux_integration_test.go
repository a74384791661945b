// SPDX-License-Identifier: MIT

//go:build linux

package connector_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// silence is how long "nothing arrives" is watched for. The kernel answers
// inside sendmsg (docs/connector.md §2.4), so on this host it is generous.
const silence = 200 * time.Millisecond

// unknownID is registered by no module, so the kernel drops messages to it.
var unknownID = connector.ID{Idx: 31, Val: 0xdeadbeef}

func TestIntegrationUnknownIDIsSilent(t *testing.T) {
	c := dialOrSkip(t, nil)

	// The kernel reports nothing for what it drops (docs/connector.md §1.3).
	if err := c.Send(connector.Message{ID: unknownID, Seq: 1, Data: []byte("x")}); err != nil {
		t.Fatalf("failed to send: %v", err)
	}
	if n, err := c.SendRaw(make([]byte, 8)); err != nil || n != 8 {
		t.Fatalf("8-byte datagram: SendRaw = %d, %v; want 8, nil", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), silence)
	defer cancel()
	if msgs, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, %v; want context.DeadlineExceeded", msgs, err)
	}
}

func TestIntegrationRequestTimesOut(t *testing.T) {
	c := dialOrSkip(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), silence)
	defer cancel()
	start := time.Now()
	_, err := c.Request(ctx, connector.Message{ID: unknownID, Seq: 2})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > silence+time.Second {
		t.Fatalf("Request returned after %v, want about %v", d, silence)
	}
}

func TestIntegrationReceiveCanceled(t *testing.T) {
	c := dialOrSkip(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := c.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Receive returned %v after cancel, want promptly", d)
	}

	// The cancellation must not leave a past deadline for the next read.
	ctx, cancel = context.WithTimeout(context.Background(), silence)
	defer cancel()
	start = time.Now()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < silence/2 {
		t.Fatalf("Receive returned after %v, before its %v deadline", d, silence)
	}
}

// TestIntegrationReceiveWaits has Receive find nothing queued, so that it
// arms the read deadline and waits in the poller, and a kernel message
// arrive while it waits: cn_proc's ack of a LISTEN sent 50 ms later.
func TestIntegrationReceiveWaits(t *testing.T) {
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 5*time.Second)
		}},
		{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialProc(t, nil)
			const ack = 500
			sent := make(chan error, 1)
			time.AfterFunc(50*time.Millisecond, func() { sent <- c.Send(procOp(procListen, ack)) })
			t.Cleanup(func() { _ = c.Send(procOp(procIgnore, ack)) })

			ctx, cancel := tt.ctx()
			defer cancel()
			// A deadline far enough away for Close to end a lost wait.
			lost := time.AfterFunc(10*time.Second, func() { _ = c.Close() })
			defer lost.Stop()
			start := time.Now()
			for {
				rs, err := c.ReceiveFrom(ctx)
				if err != nil {
					t.Fatalf("no cn_proc ack: %v", err)
				}
				if i := slices.IndexFunc(rs, func(r connector.Received) bool {
					return r.ID == procID && r.Ack == ack+1
				}); i >= 0 {
					break
				}
			}
			if err := <-sent; err != nil {
				t.Fatalf("failed to send PROC_CN_MCAST_LISTEN: %v", err)
			}
			if d := time.Since(start); d < 40*time.Millisecond {
				t.Fatalf("ack after %v, before it was sent", d)
			}

			// The wait left no deadline behind for the next receive.
			if err := c.Send(connector.Message{ID: unknownID}); err != nil {
				t.Fatalf("failed to send: %v", err)
			}
			rc, err := c.SyscallConn()
			if err != nil {
				t.Fatalf("SyscallConn: %v", err)
			}
			var n int
			var rerr error
			err = rc.Read(func(fd uintptr) bool {
				n, _, rerr = unix.Recvfrom(int(fd), make([]byte, 1), unix.MSG_DONTWAIT)
				return true
			})
			if err != nil || rerr != nil && rerr != unix.EAGAIN {
				t.Fatalf("read through SyscallConn = %d, %v, %v; want no deadline error", n, err, rerr)
			}
		})
	}
}

func TestIntegrationCloseUnblocksReceive(t *testing.T) {
	c, err := connector.Dial(nil)
	if err != nil {
		skipNoSocket(t, err)
	}

	errC := make(chan error, 1)
	go func() {
		_, err := c.Receive(context.Background())
		errC <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Receive block; it is fine if it has not yet
	if err := c.Close(); err != nil {
		t.Fatalf("failed to close: %v", err)
	}
	if err := c.Send(connector.Message{ID: unknownID}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: error = %v, want net.ErrClosed", err)
	}
	select {
	case err := <-errC:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("error = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still blocked after Close")
	}
}

func TestIntegrationDropsNotFromKernel(t *testing.T) {
	c := dialOrSkip(t, nil)

	// A well-formed "kernel" message sent by a process, which needs
	// CAP_NET_ADMIN (docs/connector.md §3.1).
	b, err := connector.Message{ID: connector.ID{Idx: 1, Val: 1}}.MarshalBinary()
	if err != nil {
		t.Fatalf("failed to marshal: %v", err)
	}
	spoof := make([]byte, 16, 16+len(b))
	binary.NativeEndian.PutUint32(spoof[0:], uint32(16+len(b)))
	binary.NativeEndian.PutUint16(spoof[4:], uint16(netlink.Done))
	sendToPort(t, c.PortID(), append(spoof, b...))

	ctx, cancel := context.WithTimeout(context.Background(), silence)
	defer cancel()
	if msgs, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, %v; want the spoofed message dropped", msgs, err)
	}
	want := connector.Stats{Datagrams: 1, NotFromKernel: 1}
	if diff := cmp.Diff(want, c.Stats()); diff != "" {
		t.Fatalf("unexpected stats (-want +got):\n%s", diff)
	}
}

// cn_proc (docs/connector.md §7.2 T37) is the one kernel sender every test host
// has: its LISTEN ack is a multicast to group 1 with ack = request ack + 1.
const (
	procGroup  = 1
	procListen = 1
	procIgnore = 2
)

var procID = connector.ID{Idx: 1, Val: 1}

func TestIntegrationProcAckMulticast(t *testing.T) {
	c := dialProc(t, nil)

	req := listen(t, c, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			t.Fatalf("no cn_proc ack: %v", err)
		}
		for _, r := range rs {
			// Other processes' fork and exit events share the group.
			if r.ID != procID || r.Ack != req.Ack+1 || len(r.Data) < 4 || binary.NativeEndian.Uint32(r.Data) != 0 {
				continue
			}
			want := connector.Received{
				Message: r.Message,
				Groups:  1 << (procGroup - 1),
				Header: netlink.Header{
					Length:   uint32(36 + len(r.Data)),
					Type:     netlink.Done,
					Sequence: r.Seq,
				},
			}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Fatalf("unexpected ack (-want +got):\n%s", diff)
			}
			return
		}
	}
}

func TestIntegrationProcTruncated(t *testing.T) {
	// A cn_proc message is 76 bytes (docs/connector.md §1.5: the rest is lost).
	c := dialProc(t, &connector.Config{RecvBufSize: 32})

	listen(t, c, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Receive(ctx)
	if !errors.Is(err, connector.ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	if !strings.Contains(err.Error(), "32-byte buffer") {
		t.Fatalf("error %q does not give the buffer size", err)
	}
}

func dialOrSkip(t *testing.T, cfg *connector.Config) *connector.Conn {
	t.Helper()
	c, err := connector.Dial(cfg)
	if err != nil {
		skipNoSocket(t, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func skipNoSocket(t *testing.T, err error) {
	t.Helper()
	t.Skipf("skipping: cannot open a NETLINK_CONNECTOR socket here (kernel without CONFIG_CONNECTOR, or a sandbox that forbids it): %v", err)
}

// dialProc joins cn_proc's group, which needs CAP_NET_ADMIN before 6.6.
func dialProc(t *testing.T, cfg *connector.Config) *connector.Conn {
	t.Helper()
	if b, err := os.ReadFile("/proc/net/connector"); err != nil || !strings.Contains(string(b), "cn_proc") {
		t.Skipf("skipping: cn_proc is not registered in /proc/net/connector (CONFIG_PROC_EVENTS off?): %v", err)
	}
	c := dialOrSkip(t, cfg)
	if err := c.Subscribe(procGroup); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("skipping: joining cn_proc's group needs CAP_NET_ADMIN on this kernel: %v", err)
		}
		t.Fatalf("failed to subscribe: %v", err)
	}
	return c
}

// listen turns cn_proc events on for c, and off again when the test ends
// (the listener count is global before 6.6).
func listen(t *testing.T, c *connector.Conn, ack uint32) connector.Message {
	t.Helper()
	req := procOp(procListen, ack)
	if err := c.Send(req); err != nil {
		t.Fatalf("failed to send PROC_CN_MCAST_LISTEN: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Send(procOp(procIgnore, ack)); err != nil {
			t.Errorf("failed to send PROC_CN_MCAST_IGNORE: %v", err)
		}
	})
	return req
}

func procOp(op, ack uint32) connector.Message {
	return connector.Message{ID: procID, Seq: 1, Ack: ack, Data: binary.NativeEndian.AppendUint32(nil, op)}
}

// sendToPort sends b from a fresh netlink socket to port, skipping the test
// if the process lacks the CAP_NET_ADMIN that needs.
func sendToPort(t *testing.T, port uint32, b []byte) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
	if err != nil {
		skipNoSocket(t, err)
	}
	defer unix.Close(fd)
	err = unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: port})
	if errors.Is(err, unix.EPERM) {
		t.Skipf("skipping: sending to another port needs CAP_NET_ADMIN: %v", err)
	}
	if err != nil {
		t.Fatalf("failed to send to port %d: %v", port, err)
	}
}

func TestIntegrationProcOverrun(t *testing.T) {
	tests := []struct {
		name      string
		noENOBUFS bool
	}{
		{name: "ENOBUFS"},
		{name: "NoENOBUFS", noENOBUFS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The smallest SO_RCVBUF holds only a few events (docs/connector.md
			// §2.5), and every child process makes three.
			c := dialProc(t, &connector.Config{ReadBuffer: 1, NoENOBUFS: tt.noENOBUFS})
			listen(t, c, 300)
			for range 20 {
				if err := exec.Command("true").Run(); err != nil {
					t.Skipf("skipping: cannot run true(1) to make process events: %v", err)
				}
			}

			// Drain until the events stop; other processes may add more.
			var overruns int
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
				ctx, cancel := context.WithTimeout(context.Background(), silence)
				_, err := c.Receive(ctx)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					break
				}
				if errors.Is(err, unix.ENOBUFS) {
					overruns++
					continue
				}
				if err != nil {
					t.Fatalf("failed to receive: %v", err)
				}
			}
			if tt.noENOBUFS && overruns != 0 {
				t.Fatalf("got %d ENOBUFS errors with NoENOBUFS set", overruns)
			}
			if !tt.noENOBUFS && overruns == 0 {
				t.Fatal("got no ENOBUFS error after overrunning the socket")
			}
		})
	}
}

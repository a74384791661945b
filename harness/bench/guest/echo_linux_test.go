// SPDX-License-Identifier: MIT

package guest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	cnguest "github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/sys/unix"
)

// replyTimeout bounds every wait for an echo; under TCG a round trip takes
// tens of microseconds, so only a broken module reaches it.
const replyTimeout = 10 * time.Second

// window is how many echoes the window benchmarks keep in flight: few
// enough that the replies fit the default receive buffer.
const window = 16

// sizes are the payloads of the round-trip benchmarks: a small message and
// a page.
var sizes = []int{64, 4096}

// echoID returns the echo id of the loaded cn_echo (idx:val from its
// parameters). It skips outside a guest and fails inside one without the
// module: there the runner should have loaded it.
func echoID(tb testing.TB) connector.ID {
	tb.Helper()
	if os.Getenv(cnguest.EnvGuest) != "1" {
		tb.Skip("not in a cnvmtest guest: run cnvmtest run -tests ./harness/bench/guest -bench .")
	}
	return connector.ID{Idx: param(tb, "idx"), Val: param(tb, "val")}
}

func param(tb testing.TB, name string) uint32 {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/module/cn_echo/parameters", name))
	if err != nil {
		tb.Fatalf("cn_echo is not loaded in this guest: %v", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		tb.Fatalf("cn_echo parameter %s: %v", name, err)
	}
	return uint32(v)
}

// rawConn is a connector client with nothing but system calls: a blocking
// netlink socket and the wire format of docs/connector.md §1.1 written out.
type rawConn struct {
	fd  int
	req []byte // nlmsghdr at 0, cn_msg at 16, data at 36
	buf []byte
}

var kernel = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

func dialRaw(tb testing.TB, id connector.ID, size int) *rawConn {
	tb.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
	if err != nil {
		tb.Fatalf("socket: %v", err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		tb.Fatalf("bind: %v", err)
	}
	// A reply that never comes fails the benchmark instead of hanging it.
	tv := unix.NsecToTimeval(replyTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		tb.Fatalf("SO_RCVTIMEO: %v", err)
	}
	c := &rawConn{fd: fd, req: make([]byte, 36+size), buf: make([]byte, 64<<10)}
	ne := binary.NativeEndian
	ne.PutUint32(c.req[0:], uint32(len(c.req))) // nlmsg_len, exact
	ne.PutUint16(c.req[4:], unix.NLMSG_DONE)
	ne.PutUint32(c.req[16:], id.Idx)
	ne.PutUint32(c.req[20:], id.Val)
	ne.PutUint16(c.req[32:], uint16(size))
	for i := range size {
		c.req[36+i] = byte(i)
	}
	return c
}

// send writes one request with seq; the echo's ack is seq+1.
func (c *rawConn) send(seq uint32) error {
	ne := binary.NativeEndian
	ne.PutUint32(c.req[8:], seq)  // nlmsg_seq
	ne.PutUint32(c.req[24:], seq) // cn_msg seq
	ne.PutUint32(c.req[28:], seq) // cn_msg ack
	return unix.Sendto(c.fd, c.req, 0, kernel)
}

// recv reads datagrams until the echo of seq arrives and returns its data.
func (c *rawConn) recv(seq uint32) ([]byte, error) {
	ne := binary.NativeEndian
	for {
		n, from, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err != nil {
			return nil, fmt.Errorf("recvfrom: %w", err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 || n < 36 {
			continue
		}
		b := c.buf[:n]
		if ne.Uint32(b[24:]) != seq || ne.Uint32(b[28:]) != seq+1 {
			continue
		}
		l := int(ne.Uint16(b[32:]))
		if 36+l > n {
			return nil, fmt.Errorf("reply cn_msg.len %d overruns the %d-byte datagram", l, n)
		}
		return b[36 : 36+l], nil
	}
}

func dialConn(tb testing.TB) *connector.Conn {
	tb.Helper()
	c, err := connector.Dial(nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestEchoPaths checks that both clients get the echo the benchmarks
// measure, so that a benchmark cannot time replies that never come.
func TestEchoPaths(t *testing.T) {
	id := echoID(t)
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dB", size), func(t *testing.T) {
			want := payload(size)
			raw := dialRaw(t, id, size)
			if err := raw.send(7); err != nil {
				t.Fatalf("raw send: %v", err)
			}
			got, err := raw.recv(7)
			if err != nil {
				t.Fatalf("raw receive: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("raw echo returned %d different bytes, want the %d sent", len(got), len(want))
			}

			c := dialConn(t)
			ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
			defer cancel()
			m, err := c.Request(ctx, connector.Message{ID: id, Seq: 7, Ack: 7, Data: want})
			if err != nil {
				t.Fatalf("connector request: %v", err)
			}
			if !bytes.Equal(m.Data, want) {
				t.Fatalf("connector echo returned %d different bytes, want the %d sent", len(m.Data), len(want))
			}
		})
	}
}

// BenchmarkRoundTrip times one echo: send a request, wait for its reply.
// conn uses a context without a deadline, conn-deadline one with a deadline,
// as tests do.
func BenchmarkRoundTrip(b *testing.B) {
	id := echoID(b)
	for _, size := range sizes {
		name := fmt.Sprintf("%dB", size)
		b.Run("raw/"+name, func(b *testing.B) {
			c := dialRaw(b, id, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				seq := uint32(i)
				if err := c.send(seq); err != nil {
					b.Fatalf("send: %v", err)
				}
				if _, err := c.recv(seq); err != nil {
					b.Fatalf("receive: %v", err)
				}
			}
		})
		b.Run("conn/"+name, func(b *testing.B) {
			benchConn(b, id, size, context.Background())
		})
		b.Run("conn-deadline/"+name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			benchConn(b, id, size, ctx)
		})
	}
}

func benchConn(b *testing.B, id connector.ID, size int, ctx context.Context) {
	c := dialConn(b)
	data := payload(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := connector.Message{ID: id, Seq: uint32(i), Ack: uint32(i), Data: data}
		if _, err := c.Request(ctx, m); err != nil {
			b.Fatalf("request: %v", err)
		}
	}
}

// BenchmarkWindow times echoes sent window at a time and then read back:
// the throughput of one socket when the sender does not wait for each
// reply. One op is one message.
func BenchmarkWindow(b *testing.B) {
	id := echoID(b)
	const size = 64
	b.Run("raw/64B", func(b *testing.B) {
		c := dialRaw(b, id, size)
		b.SetBytes(size)
		b.ReportAllocs()
		for seq := uint32(0); int(seq) < b.N; seq += window {
			n := uint32(min(window, b.N-int(seq)))
			for i := range n {
				if err := c.send(seq + i); err != nil {
					b.Fatalf("send: %v", err)
				}
			}
			for i := range n {
				if _, err := c.recv(seq + i); err != nil {
					b.Fatalf("receive: %v", err)
				}
			}
		}
	})
	b.Run("conn/64B", func(b *testing.B) {
		c := dialConn(b)
		data := payload(size)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		b.SetBytes(size)
		b.ReportAllocs()
		for seq := uint32(0); int(seq) < b.N; seq += window {
			n := uint32(min(window, b.N-int(seq)))
			for i := range n {
				if err := c.Send(connector.Message{ID: id, Seq: seq + i, Ack: seq + i, Data: data}); err != nil {
					b.Fatalf("send: %v", err)
				}
			}
			for got := uint32(0); got < n; {
				ms, err := c.Receive(ctx)
				if err != nil {
					b.Fatalf("receive: %v", err)
				}
				got += uint32(len(ms))
			}
		}
	})
}

// BenchmarkRoundTripMixed times the 64-byte round trips of
// BenchmarkRoundTrip in turns of a few echoes each, raw, conn and
// conn-deadline in rotating order, within one benchmark, so that a change in
// the host's load hits every client alike. It reports each client's time per
// echo and the ratios to raw, the figures cnvmtest bench sets its goal
// against. One op is one echo of each client.
func BenchmarkRoundTripMixed(b *testing.B) {
	id := echoID(b)
	const size, turn = 64, 8
	raw := dialRaw(b, id, size)
	c := dialConn(b)
	data := payload(size)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	seq := uint32(0)
	request := func(ctx context.Context) {
		seq++
		m := connector.Message{ID: id, Seq: seq, Ack: seq, Data: data}
		if _, err := c.Request(ctx, m); err != nil {
			b.Fatalf("request: %v", err)
		}
	}
	clients := []struct {
		echo func()
		t    time.Duration
	}{
		{echo: func() {
			seq++
			if err := raw.send(seq); err != nil {
				b.Fatalf("send: %v", err)
			}
			if _, err := raw.recv(seq); err != nil {
				b.Fatalf("receive: %v", err)
			}
		}},
		{echo: func() { request(context.Background()) }},
		{echo: func() { request(ctx) }},
	}
	for n, r := 0, 0; n < b.N; n, r = n+turn, r+1 {
		k := min(turn, b.N-n)
		for i := range clients {
			cl := &clients[(r+i)%len(clients)]
			start := time.Now()
			for range k {
				cl.echo()
			}
			cl.t += time.Since(start)
		}
	}
	perEcho := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(perEcho(clients[0].t), "raw-ns/echo")
	b.ReportMetric(perEcho(clients[1].t), "conn-ns/echo")
	b.ReportMetric(perEcho(clients[2].t), "conn-deadline-ns/echo")
	b.ReportMetric(float64(clients[1].t)/float64(clients[0].t), "conn/raw")
	b.ReportMetric(float64(clients[2].t)/float64(clients[0].t), "conn-deadline/raw")
}

// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/vmtests/silence"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// A second client, independent of package connector: socket, bind,
// sendmsg and recvmsg from golang.org/x/sys/unix, and the wire format
// written out with the offsets of docs/connector.md §1.1. TestRawClientAgrees
// runs rows T1, T3–T7, T12 and T36 through both clients: if the package
// framed or parsed something wrong, the two would disagree.

// rawMsg is one netlink message carrying a cn_msg, field by field.
type rawMsg struct {
	NlLen           uint32
	NlType, NlFlags uint16
	NlSeq, NlPid    uint32
	Idx, Val        uint32
	Seq, Ack        uint32
	Len, Flags      uint16
	Data            string
}

// encodeRaw lays out a request: nlmsghdr at 0, cn_msg at 16, data at 36.
func encodeRaw(idx, val, seq, ack uint32, flags uint16, data []byte) []byte {
	b := make([]byte, 36+len(data))
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b))) // nlmsg_len, exact
	ne.PutUint16(b[4:], 3)              // NLMSG_DONE
	ne.PutUint16(b[6:], 0)              // nlmsg_flags
	ne.PutUint32(b[8:], seq)            // nlmsg_seq
	ne.PutUint32(b[12:], 0)             // nlmsg_pid
	ne.PutUint32(b[16:], idx)
	ne.PutUint32(b[20:], val)
	ne.PutUint32(b[24:], seq)
	ne.PutUint32(b[28:], ack)
	ne.PutUint16(b[32:], uint16(len(data)))
	ne.PutUint16(b[34:], flags)
	copy(b[36:], data)
	return b
}

func decodeRaw(b []byte) (rawMsg, error) {
	if len(b) < 36 {
		return rawMsg{}, fmt.Errorf("%d-byte datagram, want at least 36", len(b))
	}
	ne := binary.NativeEndian
	m := rawMsg{
		NlLen: ne.Uint32(b[0:]), NlType: ne.Uint16(b[4:]), NlFlags: ne.Uint16(b[6:]),
		NlSeq: ne.Uint32(b[8:]), NlPid: ne.Uint32(b[12:]),
		Idx: ne.Uint32(b[16:]), Val: ne.Uint32(b[20:]), Seq: ne.Uint32(b[24:]), Ack: ne.Uint32(b[28:]),
		Len: ne.Uint16(b[32:]), Flags: ne.Uint16(b[34:]),
	}
	if 36+int(m.Len) > len(b) {
		return m, fmt.Errorf("cn_msg.len %d overruns the %d-byte datagram", m.Len, len(b))
	}
	m.Data = string(b[36 : 36+int(m.Len)])
	return m, nil
}

// rawClient is a blocking NETLINK_CONNECTOR socket bound to no group.
type rawClient struct{ fd int }

func newRawClient(tb testing.TB) *rawClient {
	tb.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 11)
	if err != nil {
		tb.Fatalf("socket: %v", err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		tb.Fatalf("bind: %v", err)
	}
	return &rawClient{fd: fd}
}

func (r *rawClient) send(b []byte) (int, error) {
	return unix.SendmsgN(r.fd, b, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
}

// rawDatagram is what one recvmsg returned.
type rawDatagram struct {
	n, flags int
	from     *unix.SockaddrNetlink
	b        []byte
}

var errNothing = errors.New("nothing arrived")

// recv waits until a datagram is there or ctx ends (errNothing), then
// reads it into a bufSize buffer with recvmsg flags.
func (r *rawClient) recv(ctx context.Context, bufSize, flags int) (rawDatagram, error) {
	for {
		dl, ok := ctx.Deadline()
		if !ok {
			return rawDatagram{}, errors.New("recv needs a deadline")
		}
		ms := int(time.Until(dl).Milliseconds())
		if ms <= 0 {
			return rawDatagram{}, errNothing
		}
		pfd := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return rawDatagram{}, fmt.Errorf("poll: %w", err)
		}
		if n == 0 {
			return rawDatagram{}, errNothing
		}
		buf := make([]byte, bufSize)
		n, _, rflags, from, err := unix.Recvmsg(r.fd, buf, nil, flags)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return rawDatagram{}, fmt.Errorf("recvmsg: %w", err)
		}
		sa, _ := from.(*unix.SockaddrNetlink)
		return rawDatagram{n: n, flags: rflags, from: sa, b: buf[:min(n, bufSize)]}, nil
	}
}

// queued reports whether a datagram waits on the socket now.
func (r *rawClient) queued() (bool, error) {
	for {
		_, _, err := unix.Recvfrom(r.fd, make([]byte, 16), unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch err {
		case nil:
			return true, nil
		case unix.EAGAIN:
			return false, nil
		case unix.EINTR:
			continue
		}
		return false, err
	}
}

// rawEcho sends b and returns the reply, decoded.
func rawEcho(tb testing.TB, r *rawClient, b []byte) (sent int, d rawDatagram, m rawMsg) {
	tb.Helper()
	sent, err := r.send(b)
	if err != nil {
		tb.Fatalf("raw send: %v", err)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
	defer cancel()
	d, err = r.recv(ctx, 1<<16, 0)
	if err != nil {
		tb.Fatalf("raw receive: %v", err)
	}
	if m, err = decodeRaw(d.b); err != nil {
		tb.Fatal(err)
	}
	return sent, d, m
}

// asRaw writes a Received from package connector in rawMsg's terms.
func asRaw(r connector.Received) rawMsg {
	return rawMsg{
		NlLen: r.Header.Length, NlType: uint16(r.Header.Type), NlFlags: uint16(r.Header.Flags),
		NlSeq: r.Header.Sequence, NlPid: r.Header.PID,
		Idx: r.ID.Idx, Val: r.ID.Val, Seq: r.Seq, Ack: r.Ack,
		Len: uint16(len(r.Data)), Flags: r.Flags, Data: string(r.Data),
	}
}

func TestRawClientAgrees(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	echoes := []struct {
		row  string
		data []byte
	}{
		{row: "T1", data: []byte("hello")},
		{row: "T3", data: nil},
		{row: "T4 len 1", data: []byte("1")},
		{row: "T4 len 3", data: []byte("333")},
		{row: "T4 len 4", data: []byte("4444")},
		{row: "T5", data: pattern(16363, 5)},
		{row: "T6", data: pattern(16364, 6)},
	}
	for _, e := range echoes {
		t.Run(e.row, func(t *testing.T) {
			seq, ack, flags := uint32(1234), uint32(5678), uint16(0xABCD)
			n := len(e.data)
			sent, d, got := rawEcho(t, newRawClient(t), encodeRaw(ids.echo.Idx, ids.echo.Val, seq, ack, flags, e.data))

			// What the kernel sends (docs/connector.md §1.2), in raw terms.
			want := rawMsg{
				NlLen: uint32(36 + n), NlType: 3, NlSeq: seq,
				Idx: ids.echo.Idx, Val: ids.echo.Val, Seq: seq, Ack: ack + 1,
				Len: uint16(n), Flags: flags, Data: string(e.data),
			}
			if sent != 36+n {
				t.Errorf("raw sendmsg returned %d, want %d", sent, 36+n)
			}
			if wantN := (36 + n + 3) &^ 3; d.n != wantN || d.flags&unix.MSG_TRUNC != 0 {
				t.Errorf("raw recvmsg returned %d bytes (flags %#x), want %d, whole", d.n, d.flags, wantN)
			}
			if d.from == nil || d.from.Pid != 0 || d.from.Groups != 0 {
				t.Errorf("reply from %+v, want the kernel (pid 0), unicast (groups 0)", d.from)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("raw client's reply (-want +got):\n%s", diff)
			}

			// The same request through package connector.
			c := dial(t, nil)
			send(t, c, connector.Message{ID: ids.echo, Seq: seq, Ack: ack, Flags: flags, Data: e.data})
			r := mustReceive(t, c, 1)[0]
			if diff := cmp.Diff(got, asRaw(r)); diff != "" {
				t.Errorf("package connector disagrees with the raw client (-raw +package):\n%s", diff)
			}
			if r.Groups != d.from.Groups {
				t.Errorf("source groups: package %#x, raw %#x", r.Groups, d.from.Groups)
			}
		})
	}

	drops := []struct {
		row string
		id  connector.ID
		len int
	}{
		{row: "T7 16365", id: ids.echo, len: 16365},
		{row: "T7 65535", id: ids.echo, len: 65535},
		{row: "T12 unknown val", id: connector.ID{Idx: ids.echo.Idx, Val: ids.echo.Val + 100}, len: 4},
	}
	for _, dr := range drops {
		t.Run(dr.row, func(t *testing.T) {
			r := newRawClient(t)
			b := encodeRaw(dr.id.Idx, dr.id.Val, 7, 7, 0, pattern(dr.len, 7))
			if sent, err := r.send(b); err != nil || sent != len(b) {
				t.Fatalf("raw send of %d bytes: %d, %v", len(b), sent, err)
			}
			c := dial(t, nil)
			send(t, c, connector.Message{ID: dr.id, Seq: 7, Ack: 7, Data: pattern(dr.len, 7)})

			// Both dropped inside the send: nothing queued on either
			// socket now, and each one's next message is the echo of a
			// sentinel sent after it (package silence).
			if q, err := r.queued(); err != nil || q {
				t.Errorf("raw client: a datagram queued right after the send (%v, %v), want nothing", q, err)
			}
			s := silence.Sentinel(ids.echo)
			_, _, m := rawEcho(t, r, encodeRaw(s.ID.Idx, s.ID.Val, s.Seq, s.Ack, s.Flags, s.Data))
			if m.Seq != s.Seq || m.Ack != s.Ack+1 || m.Data != string(s.Data) {
				t.Errorf("raw client: the next message is %+v, want the sentinel's echo", m)
			}
			expectSilence(t, c, ids, "package client: the kernel drops it")
		})
	}

	// T36 in raw terms: a 64-byte buffer gets 64 bytes and MSG_TRUNC; with
	// MSG_TRUNC as a flag recvmsg returns the real length.
	t.Run("T36", func(t *testing.T) {
		r := newRawClient(t)
		for _, flags := range []int{0, unix.MSG_TRUNC} {
			if _, err := r.send(encodeRaw(ids.echo.Idx, ids.echo.Val, 36, 0, 0, pattern(100, 36))); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
			d, err := r.recv(ctx, 64, flags)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			want := 64
			if flags != 0 {
				want = 136
			}
			if d.n != want || d.flags&unix.MSG_TRUNC == 0 {
				t.Errorf("recvmsg(64-byte buffer, flags %#x) = %d, msg_flags %#x; want %d and MSG_TRUNC", flags, d.n, d.flags, want)
			}
		}
	})
}

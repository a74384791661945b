// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

func TestConnSend(t *testing.T) {
	var got []netlink.Message
	c := NewConn(nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		got = req
		return nil, nil
	}))
	defer c.Close()

	if err := c.Send(hello); err != nil {
		t.Fatalf("failed to send: %v", err)
	}
	want := []netlink.Message{{
		// netlink.Conn.Send fills in the zero nlmsg_pid before nltest sees it.
		Header: netlink.Header{Length: 41, Type: netlink.Done, Sequence: 1234, PID: nltest.PID},
		Data:   mustMarshal(t, hello),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected request (-want +got):\n%s", diff)
	}
}

func TestConnSendTooLong(t *testing.T) {
	f := &fakeTransport{}
	c := &Conn{t: f}
	err := c.Send(Message{Data: make([]byte, 65536)})
	if oe, ok := err.(*OpError); !ok || oe.Op != "send" {
		t.Fatalf("error = %#v, want an *OpError for send", err)
	}
	if len(f.sent) != 0 {
		t.Fatalf("sent %d datagrams, want none", len(f.sent))
	}
}

func TestConnSendRawFake(t *testing.T) {
	c := NewConn(nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) { return nil, nil }))
	defer c.Close()

	if _, err := c.SendRaw(make([]byte, 8)); !errors.Is(err, errShortDatagram) {
		t.Fatalf("8-byte SendRaw: error = %v, want %v", err, errShortDatagram)
	}
	req, err := marshalRequest(hello)
	if err != nil {
		t.Fatalf("failed to marshal: %v", err)
	}
	if n, err := c.SendRaw(req); err != nil || n != len(req) {
		t.Fatalf("SendRaw = %d, %v; want %d, nil", n, err, len(req))
	}
}

func TestConnRequest(t *testing.T) {
	reply := hello
	reply.Ack++
	wrongSeq, wrongAck, wrongID := reply, reply, reply
	wrongSeq.Seq++
	wrongAck.Ack++
	wrongID.ID.Val++

	tests := []struct {
		name      string
		sent      []Message // returned for the request
		later     []Message // returned for the next receive
		unmatched uint64
	}{
		{name: "reply", sent: []Message{reply}},
		{name: "skips wrong seq, ack and id", sent: []Message{wrongSeq, wrongAck, wrongID, reply}, unmatched: 3},
		{name: "reply in a later datagram", sent: []Message{wrongAck}, later: []Message{reply}, unmatched: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConn(nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
				if req == nil {
					return toNetlink(t, tt.later), nil
				}
				return toNetlink(t, tt.sent), nil
			}))
			defer c.Close()

			got, err := c.Request(context.Background(), hello)
			if err != nil {
				t.Fatalf("failed to request: %v", err)
			}
			if diff := cmp.Diff(reply, got); diff != "" {
				t.Fatalf("unexpected reply (-want +got):\n%s", diff)
			}
			if n := c.Stats().Unmatched; n != tt.unmatched {
				t.Fatalf("Unmatched = %d, want %d", n, tt.unmatched)
			}
		})
	}
}

func TestConnRequestCanceled(t *testing.T) {
	var sent bool
	c := NewConn(nltest.Dial(func(req []netlink.Message) ([]netlink.Message, error) {
		sent = true
		return nil, nil
	}))
	defer c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Request(ctx, hello); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if sent {
		t.Fatal("Request sent with a canceled context")
	}
	_, err := c.Receive(ctx)
	if oe, ok := err.(*OpError); !ok || oe.Op != "receive" || !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive error = %#v, want a receive *OpError wrapping context.Canceled", err)
	}
}

func TestConnReceiveFrom(t *testing.T) {
	enobufs := os.NewSyscallError("recvmsg", syscall.ENOBUFS)
	kernel := kernelDatagram(t, hello)
	multicast := kernel
	multicast.groups = 1 << 15
	foreign := kernel
	foreign.port = 4242
	truncated := kernel
	truncated.size = len(kernel.b) + 100
	foreignTruncated := truncated
	foreignTruncated.port = 4242

	tests := []struct {
		name  string
		recv  []fakeRecv
		want  []Received // from the last receive
		errs  []error    // from the receives before it
		stats Stats
	}{
		{
			name:  "unicast",
			recv:  []fakeRecv{{d: kernel}},
			want:  []Received{{Message: hello, Header: echoHeader}},
			stats: Stats{Datagrams: 1},
		},
		{
			name:  "multicast",
			recv:  []fakeRecv{{d: multicast}},
			want:  []Received{{Message: hello, Groups: 1 << 15, Header: echoHeader}},
			stats: Stats{Datagrams: 1},
		},
		{
			name:  "drops datagrams not from the kernel",
			recv:  []fakeRecv{{d: foreign}, {d: foreignTruncated}, {d: kernel}},
			want:  []Received{{Message: hello, Header: echoHeader}},
			stats: Stats{Datagrams: 3, NotFromKernel: 2},
		},
		{
			name:  "truncated",
			recv:  []fakeRecv{{d: truncated}, {d: kernel}},
			errs:  []error{ErrTruncated},
			want:  []Received{{Message: hello, Header: echoHeader}},
			stats: Stats{Datagrams: 2},
		},
		{
			name:  "ENOBUFS, then the queued replies",
			recv:  []fakeRecv{{err: enobufs}, {d: kernel}},
			errs:  []error{syscall.ENOBUFS},
			want:  []Received{{Message: hello, Header: echoHeader}},
			stats: Stats{Datagrams: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{t: &fakeTransport{recv: tt.recv}}
			for _, want := range tt.errs {
				if _, err := c.ReceiveFrom(context.Background()); !errors.Is(err, want) {
					t.Fatalf("error = %v, want %v", err, want)
				}
			}
			got, err := c.ReceiveFrom(context.Background())
			if err != nil {
				t.Fatalf("failed to receive: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, c.Stats()); diff != "" {
				t.Fatalf("unexpected stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnReceiveMalformed(t *testing.T) {
	d := kernelDatagram(t, hello)
	d.b = withNlmsgLen(d.b, 8)
	c := &Conn{t: &fakeTransport{recv: []fakeRecv{{d: d}}}}
	if _, err := c.Receive(context.Background()); err == nil {
		t.Fatal("expected an error, but none occurred")
	}
}

// TestConnRequestReadsWholeDatagrams checks that Request reads a datagram
// as ReceiveFrom does: a malformed one is an error even when it holds the
// reply, and only the messages before the reply count as Unmatched.
func TestConnRequestReadsWholeDatagrams(t *testing.T) {
	reply := hello
	reply.Ack++
	other := reply
	other.Seq++

	good := kernelDatagram(t, other, reply, other)
	bad := kernelDatagram(t, reply, other)
	bad.b = append(bad.b, 1, 2, 3) // shorter than a netlink header

	c := &Conn{t: &fakeTransport{recv: []fakeRecv{{d: bad}, {d: good}}}}
	if _, err := c.Request(context.Background(), hello); err == nil {
		t.Fatal("Request returned the reply in a malformed datagram")
	}
	got, err := c.Request(context.Background(), hello)
	if err != nil {
		t.Fatalf("failed to request: %v", err)
	}
	if diff := cmp.Diff(reply, got); diff != "" {
		t.Fatalf("unexpected reply (-want +got):\n%s", diff)
	}
	if want := (Stats{Datagrams: 2, Unmatched: 1}); c.Stats() != want {
		t.Fatalf("Stats = %+v, want %+v", c.Stats(), want)
	}

	// The reply's data is the caller's: the next datagram reuses the buffer.
	d := kernelDatagram(t, reply)
	c = &Conn{t: &fakeTransport{recv: []fakeRecv{{d: d}}}}
	got, err = c.Request(context.Background(), hello)
	if err != nil {
		t.Fatalf("failed to request: %v", err)
	}
	clear(d.b)
	if !bytes.Equal(got.Data, hello.Data) {
		t.Fatalf("reply data %q changed with the receive buffer, want %q", got.Data, hello.Data)
	}
}

func TestOpError(t *testing.T) {
	c := NewConn(nltest.Dial(nil))
	defer c.Close()

	// nltest cannot join groups; the netlink.OpError must not show through.
	err := c.Subscribe(16)
	if got, want := err.Error(), "connector subscribe: operation not supported"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "subscribe" {
		t.Fatalf("error = %#v, want an *OpError for subscribe", err)
	}
	if newOpError("send", nil) != nil {
		t.Fatal("newOpError(nil) is not nil")
	}
}

// echoHeader is the nlmsghdr the kernel puts on an echo of hello.
var echoHeader = netlink.Header{Length: 41, Type: netlink.Done, Sequence: 1234}

// kernelDatagram frames msgs as the kernel sends them, from port 0.
func kernelDatagram(t *testing.T, msgs ...Message) datagram {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		b = appendNetlink(b, netlink.Header{Type: netlink.Done, Sequence: m.Seq}, mustMarshal(t, m))
	}
	return datagram{b: b, size: len(b)}
}

func toNetlink(t *testing.T, msgs []Message) []netlink.Message {
	t.Helper()
	var out []netlink.Message
	for _, m := range msgs {
		out = append(out, netlink.Message{
			Header: netlink.Header{Type: netlink.Done, Sequence: m.Seq},
			Data:   mustMarshal(t, m),
		})
	}
	return out
}

type fakeRecv struct {
	d   datagram
	err error
}

// fakeTransport replays scripted datagrams, with the source addresses and
// truncation that nltest cannot express.
type fakeTransport struct {
	sent [][]byte
	recv []fakeRecv
}

func (f *fakeTransport) sendRequest(m Message) error {
	_, err := f.send(appendRequest(nil, m))
	return err
}

func (f *fakeTransport) send(b []byte) (int, error) {
	f.sent = append(f.sent, bytes.Clone(b))
	return len(b), nil
}

func (f *fakeTransport) receive(ctx context.Context) (datagram, error) {
	if len(f.recv) == 0 {
		<-ctx.Done()
		return datagram{}, ctx.Err()
	}
	r := f.recv[0]
	f.recv = f.recv[1:]
	return r.d, r.err
}

// SPDX-License-Identifier: MIT

package vmtests

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/cnvmtest/cnvmtest/vmtests/silence"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// T1: one echo, every field of the reply checked, on the three ways the
// client sends.
func TestEchoHappyPath(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	req := connector.Message{ID: ids.echo, Seq: 1234, Ack: 5678, Flags: 0xABCD, Data: []byte("hello")}
	want := connector.Message{ID: ids.echo, Seq: 1234, Ack: 5679, Flags: 0xABCD, Data: []byte("hello")}
	// The kernel builds the reply header itself (docs/connector.md §1.2):
	// nlmsg_len 16+20+5, not rounded up; NLMSG_DONE; no flags;
	// nlmsg_seq copied from cn_msg.seq; port 0, the kernel.
	wantHeader := netlink.Header{Length: 41, Type: netlink.Done, Flags: 0, Sequence: 1234, PID: 0}

	tests := []struct {
		name string
		send func(*testing.T, *connector.Conn)
	}{
		{
			name: "Send",
			send: func(t *testing.T, c *connector.Conn) { send(t, c, req) },
		},
		{
			// The kernel ignores the request's nlmsg_seq: the reply
			// carries cn_msg.seq whatever the request said.
			name: "SendRaw with nlmsg_seq 0xA5A5",
			send: func(t *testing.T, c *connector.Conn) {
				b := rawRequest(0xA5A5, req)
				n, err := c.SendRaw(b)
				if err != nil {
					t.Fatalf("sending raw request: %v", err)
				}
				if n != 41 {
					t.Fatalf("SendRaw wrote %d bytes, want 41", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, nil)
			before := readCounters(t)

			tt.send(t, c)
			got := mustReceive(t, c, 1)[0]

			if diff := diffMessage(want, got.Message); diff != "" {
				t.Errorf("unexpected reply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantHeader, got.Header); diff != "" {
				t.Errorf("unexpected netlink header (-want +got):\n%s", diff)
			}
			if got.Groups != 0 {
				t.Errorf("reply came from groups %#x, want 0 (unicast)", got.Groups)
			}
			after := readCounters(t)
			if after.Received < before.Received+1 || after.Replied < before.Replied+1 {
				t.Errorf("counters went from %+v to %+v, want received and replied up by at least 1", before, after)
			}
			if after.SendErrors != before.SendErrors {
				t.Errorf("send_errors went from %d to %d on a plain echo", before.SendErrors, after.SendErrors)
			}
		})
	}

	t.Run("Request", func(t *testing.T) {
		c := dial(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		got, err := c.Request(ctx, req)
		if err != nil {
			// Request waits for id, seq and ack+1 to match and drops
			// everything else, so a wrong reply shows up as a timeout.
			t.Fatalf("request: %v (%d non-matching messages discarded)", err, c.Stats().Unmatched)
		}
		if diff := diffMessage(want, got); diff != "" {
			t.Errorf("unexpected reply (-want +got):\n%s", diff)
		}
	})
}

// T2: seq and ack of 1000 messages with random values: each reply echoes seq
// and carries ack + 1, in send order.
func TestEchoSeqAck(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	// Sent in batches: a default receive buffer holds only about 240
	// small echoes before the kernel drops (docs/connector.md §2.5), and
	// dropping is T19's subject, not this one's.
	const total, batch = 1000, 100
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	before := readCounters(t)
	for start := 0; start < total; start += batch {
		reqs := make([]connector.Message, batch)
		for i := range reqs {
			n := start + i
			data := binary.NativeEndian.AppendUint32(nil, uint32(n))
			reqs[i] = connector.Message{ID: ids.echo, Seq: rng.Uint32(), Ack: rng.Uint32(), Flags: uint16(n), Data: data}
		}
		if start == 0 {
			// The edges: ack 0xffffffff wraps to 0.
			reqs[0].Seq, reqs[0].Ack = 0, 0
			reqs[1].Seq, reqs[1].Ack = 0xffffffff, 0xffffffff
		}

		want := make([]connector.Message, batch)
		for i, m := range reqs {
			send(t, c, m)
			want[i] = echoOf(m)
		}
		got := messagesOf(mustReceive(t, c, batch))
		if diff := diffInOrder(want, got); diff != "" {
			t.Fatalf("unexpected replies to messages %d..%d: %s", start, start+batch-1, diff)
		}
	}
	after := readCounters(t)
	if after.SendErrors != before.SendErrors {
		t.Errorf("send_errors went from %d to %d", before.SendErrors, after.SendErrors)
	}
}

// T3–T6: data lengths at the edges are echoed intact, and nlmsg_len is
// 16 + 20 + len, not rounded up (docs/connector.md §1.2 and §1.4).
func TestEchoDataSizes(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	tests := []struct {
		name string
		len  int
	}{
		{name: "T3 empty", len: 0},
		{name: "T4 one byte", len: 1},
		{name: "T4 three bytes", len: 3},
		{name: "T4 four bytes", len: 4},
		{name: "T5 max-1", len: connector.MaxDataLen - 1},
		{name: "T6 max", len: connector.MaxDataLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, nil)
			req := connector.Message{ID: ids.echo, Seq: uint32(tt.len), Ack: 1, Flags: 0x5A5A, Data: pattern(tt.len, byte(tt.len))}

			// Sent raw for sendmsg's count: 36 + len, unpadded.
			sendRawOK(t, c, rawRequest(req.Seq, req))
			got := mustReceive(t, c, 1)[0]

			// The data byte by byte with bytes.Equal: cmp walks a 16 KB
			// slice by reflection, which takes a visible part of a second
			// under emulation.
			want := echoOf(req)
			if !bytes.Equal(got.Message.Data, want.Data) {
				t.Errorf("reply data differs: %d bytes, want %d bytes of the pattern", len(got.Message.Data), len(want.Data))
			}
			got.Message.Data, want.Data = nil, nil
			if diff := diffMessage(want, got.Message); diff != "" {
				t.Errorf("unexpected reply (-want +got):\n%s", diff)
			}
			if want := uint32(nlmsgHeaderLen + cnMsgLen + tt.len); got.Header.Length != want {
				t.Errorf("reply nlmsg_len = %d, want %d", got.Header.Length, want)
			}
		})
	}
}

// TestNothingArrivesLate is the control of every silence check in this
// suite, and the one check of the echo path that listens for a window.
// The others (expectSilence) send a sentinel and rely on the connector
// queueing each reply inside the sendmsg that causes it (package silence
// cites the kernel source): a reply that came later, from another
// context, would slip past them. So this test sends one echo, requires
// the echo, and only it, to be queued when the send has returned, and
// then listens for silence.ControlWindow: anything arriving then is late.
// The harness's self-test TestLateReply runs the same check on the fault
// module's late id, which echoes from a workqueue, and expects a failure.
func TestNothingArrivesLate(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	req := connector.Message{ID: ids.echo, Seq: 0x1a7e, Ack: 41, Flags: 7, Data: []byte("on time?")}
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	queued, err := silence.Control(ctx, c, req, silence.ControlWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 {
		t.Fatalf("%d messages queued when the send returned, want the echo alone", len(queued))
	}
	if diff := diffMessage(echoOf(req), queued[0].Message); diff != "" {
		t.Errorf("queued when the send returned (-want +got):\n%s", diff)
	}
}

// T7: data longer than 16364 bytes is dropped silently: the send succeeds
// (cn_rx_skb drops it after netlink has accepted it) and the callback never
// runs. Sent raw, since the client may refuse such a message itself.
func TestEchoOversizeDropped(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	for _, n := range []int{connector.MaxDataLen + 1, 20000, 65535} {
		t.Run(fmt.Sprintf("len %d", n), func(t *testing.T) {
			c := dial(t, nil)
			b := rawRequest(1, connector.Message{ID: ids.echo, Seq: 1, Data: pattern(n, 0)})
			before := readCounters(t)

			got, err := c.SendRaw(b)
			if err != nil {
				t.Fatalf("sending %d-byte datagram: %v", len(b), err)
			}
			if got != len(b) {
				t.Fatalf("SendRaw wrote %d bytes, want %d", got, len(b))
			}
			if after := readCounters(t); after.Received != before.Received {
				t.Errorf("received went from %d to %d: the callback ran for an oversized message", before.Received, after.Received)
			}
			expectSilence(t, c, ids, "the kernel drops payloads over 16384 bytes")
		})
	}
}

// T12: messages to ids nobody registered are dropped silently.
func TestEchoUnknownID(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	tests := []struct {
		name string
		id   connector.ID
	}{
		{name: "unknown val", id: connector.ID{Idx: ids.echo.Idx, Val: ids.echo.Val + 100}},
		{name: "wrong idx", id: connector.ID{Idx: ids.echo.Idx + 100, Val: ids.echo.Val}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, nil)
			before := readCounters(t)

			send(t, c, connector.Message{ID: tt.id, Seq: 12, Ack: 34, Data: []byte("anyone?")})

			if after := readCounters(t); after.Received != before.Received {
				t.Errorf("received went from %d to %d: cn_echo was called for %d:%d", before.Received, after.Received, tt.id.Idx, tt.id.Val)
			}
			expectSilence(t, c, ids, "no callback is registered for the id")
		})
	}
}

// T17: concurrent clients each get exactly their own replies, in order. The
// callbacks run in the senders' tasks on several CPUs at once.
func TestEchoConcurrentClients(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	// 8 clients of 150 echoes in windows of 50: every client has
	// requests in flight while the others send, which is what the row
	// needs; more echoes add time, not evidence.
	const clients, perClient, window = 8, 150, 50
	conns := make([]*connector.Conn, clients)
	for i := range conns {
		conns[i] = dial(t, nil)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := make(chan struct{})
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			<-start
			errs[i] = echoClient(ctx, c, ids.echo, i, perClient, window)
		})
	}
	before := readCounters(t)
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d (port %d): %v", i, conns[i].PortID(), err)
		}
	}
	after := readCounters(t)
	if got, want := after.Received-before.Received, int64(clients*perClient); got < want {
		t.Errorf("received went up by %d, want at least %d", got, want)
	}
	if after.SendErrors != before.SendErrors {
		t.Errorf("send_errors went from %d to %d", before.SendErrors, after.SendErrors)
	}
}

// echoClient sends n echoes in windows of w and checks that the replies are
// exactly its own, in order. Client k uses seqs k<<16 | i and tags its data
// with k, so any reply that went to the wrong socket shows in the diff.
func echoClient(ctx context.Context, c *connector.Conn, id connector.ID, k, n, w int) error {
	for start := 0; start < n; start += w {
		want := make([]connector.Message, 0, w)
		for i := start; i < min(start+w, n); i++ {
			m := connector.Message{
				ID:    id,
				Seq:   uint32(k)<<16 | uint32(i),
				Ack:   uint32(i) * 7,
				Flags: uint16(k),
				Data:  fmt.Appendf(nil, "client %d message %d", k, i),
			}
			if err := c.Send(m); err != nil {
				return fmt.Errorf("sending message %d: %w", i, err)
			}
			want = append(want, echoOf(m))
		}
		got, err := receiveN(ctx, c, len(want))
		if err != nil {
			return fmt.Errorf("replies to messages %d..: %w", start, err)
		}
		if diff := diffInOrder(want, messagesOf(got)); diff != "" {
			return fmt.Errorf("unexpected replies to messages %d..%d: %s", start, start+len(want)-1, diff)
		}
	}
	return nil
}

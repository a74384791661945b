// SPDX-License-Identifier: MIT

package vmtests

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Malformed and unusual datagrams, rows T8–T11 and T13–T16: what
// cn_rx_skb and cn_call_callback accept (docs/connector.md §1.3). The kernel
// never reports a drop to the sender, so a drop shows only as silence and
// an unchanged `received` counter.

// Offsets of the header fields patched below (docs/connector.md §1.1).
const (
	offNlmsgLen   = 0
	offNlmsgType  = 4
	offNlmsgFlags = 6
	offCnLen      = 32
)

func patch16(b []byte, off int, v uint16) []byte {
	binary.NativeEndian.PutUint16(b[off:], v)
	return b
}

func patch32(b []byte, off int, v uint32) []byte {
	binary.NativeEndian.PutUint32(b[off:], v)
	return b
}

// sendRawOK sends b and checks that sendmsg took all of it.
func sendRawOK(tb testing.TB, c *connector.Conn, b []byte) {
	tb.Helper()
	n, err := c.SendRaw(b)
	if err != nil {
		tb.Fatalf("sending a %d-byte datagram: %v", len(b), err)
	}
	if n != len(b) {
		tb.Fatalf("sendmsg returned %d for a %d-byte datagram", n, len(b))
	}
}

// expectDropped sends b, which the kernel must drop before any callback,
// and checks that nothing comes back.
func expectDropped(t *testing.T, ids moduleIDs, b []byte, why string) {
	t.Helper()
	c := dial(t, nil)
	before := readCounters(t)
	sendRawOK(t, c, b)
	if after := readCounters(t); after.Received != before.Received {
		t.Errorf("received went from %d to %d: a callback ran", before.Received, after.Received)
	}
	expectSilence(t, c, ids, why)
}

// T8: a cn_msg.len larger than the data after the header is dropped by
// cn_call_callback (-EINVAL), before the callback.
func TestMalformedLenOverruns(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := rawRequest(8, connector.Message{ID: ids.echo, Seq: 8, Data: []byte("four")})
	expectDropped(t, ids, patch16(b, offCnLen, 10), "cn_msg.len 10 overruns the 4 data bytes")
}

// T9: a cn_msg.len smaller than the data is accepted; the callback, and so
// the echo, sees only len bytes.
func TestMalformedLenSlack(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	req := connector.Message{ID: ids.echo, Seq: 9, Ack: 90, Flags: 9, Data: []byte("abcdefghij")}
	b := patch16(rawRequest(9, req), offCnLen, 3)
	sendRawOK(t, c, b) // 46 bytes

	got := mustReceive(t, c, 1)[0]
	want := echoOf(req)
	want.Data = []byte("abc")
	if diff := diffMessage(want, got.Message); diff != "" {
		t.Errorf("unexpected echo (-want +got):\n%s", diff)
	}
	if got.Header.Length != 39 {
		t.Errorf("echo nlmsg_len %d, want 39 (16 + 20 + 3)", got.Header.Length)
	}
}

// T10: framing errors cn_rx_skb drops silently: less than a cn_msg after
// the netlink header, less than a netlink header, an nlmsg_len beyond the
// datagram, and nlmsg_len 0.
func TestMalformedFraming(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	ok := func() []byte {
		return rawRequest(10, connector.Message{ID: ids.echo, Seq: 10, Data: []byte("T10!")}) // 40 bytes
	}

	tests := []struct {
		name string
		b    []byte
	}{
		{name: "payload of 19 bytes", b: patch32(ok()[:35], offNlmsgLen, 35)},
		{name: "8-byte datagram", b: ok()[:8]},
		{name: "nlmsg_len beyond the datagram", b: patch32(ok(), offNlmsgLen, 60)},
		{name: "nlmsg_len 0", b: patch32(ok(), offNlmsgLen, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectDropped(t, ids, tt.b, tt.name)
		})
	}
}

// T11: a zero-length send fails with ENODATA: netlink_sendmsg refuses an
// empty skb before the connector sees anything.
func TestZeroLengthSend(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)
	before := readCounters(t)

	n, err := c.SendRaw(nil)
	if !errors.Is(err, unix.ENODATA) {
		t.Errorf("zero-length send: %d, %v; want ENODATA", n, err)
	}
	if after := readCounters(t); after.Received != before.Received {
		t.Errorf("received went from %d to %d", before.Received, after.Received)
	}
	expectAlive(t, c, ids)
}

// T13: NLM_F_REQUEST|NLM_F_ACK asks for nothing from the connector, which
// does not use netlink_rcv_skb: one echo, no NLMSG_ERROR.
func TestNetlinkAckFlagIgnored(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	req := connector.Message{ID: ids.echo, Seq: 13, Ack: 130, Data: []byte("ack me?")}
	flags := uint16(netlink.Request | netlink.Acknowledge)
	sendRawOK(t, c, patch16(rawRequest(13, req), offNlmsgFlags, flags))

	got := mustReceive(t, c, 1)[0]
	if diff := diffMessage(echoOf(req), got.Message); diff != "" {
		t.Errorf("unexpected reply (-want +got):\n%s", diff)
	}
	if got.Header.Type != netlink.Done || got.Header.Flags != 0 {
		t.Errorf("reply type %v flags %v, want NLMSG_DONE and no flags", got.Header.Type, got.Header.Flags)
	}
	expectSilence(t, c, ids, "one echo and no NLMSG_ERROR")
}

// T14: the connector processes only the first netlink message of a
// datagram.
func TestTwoMessagesInOneDatagram(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	first := connector.Message{ID: ids.echo, Seq: 401, Ack: 1, Data: []byte("1st!")}
	second := connector.Message{ID: ids.echo, Seq: 402, Ack: 2, Data: []byte("2nd!")}
	b := append(rawRequest(401, first), rawRequest(402, second)...) // 80 bytes
	before := readCounters(t)
	sendRawOK(t, c, b)

	got := mustReceive(t, c, 1)[0].Message
	if diff := diffMessage(echoOf(first), got); diff != "" {
		t.Errorf("unexpected reply (-want +got):\n%s", diff)
	}
	if after := readCounters(t); after.Received != before.Received+1 {
		t.Errorf("received went from %d to %d, want +1", before.Received, after.Received)
	}
	expectSilence(t, c, ids, "the second message of the datagram is ignored")
}

// T15: bytes after nlmsg_len are ignored.
func TestTrailingGarbage(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	c := dial(t, nil)

	req := connector.Message{ID: ids.echo, Seq: 15, Ack: 150, Data: []byte("T15!")}
	b := append(rawRequest(15, req), bytes.Repeat([]byte{0xEE}, 64)...) // 104 bytes
	sendRawOK(t, c, b)

	got := mustReceive(t, c, 1)[0]
	if diff := diffMessage(echoOf(req), got.Message); diff != "" {
		t.Errorf("unexpected reply (-want +got):\n%s", diff)
	}
	if got.Header.Length != 40 {
		t.Errorf("reply nlmsg_len %d, want 40", got.Header.Length)
	}
	expectSilence(t, c, ids, "the trailing bytes are not a message")
}

// T16: the connector does not look at nlmsg_type; the reply is NLMSG_DONE
// whatever the request said.
func TestAnyNetlinkType(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)

	for _, typ := range []uint16{0, 1, 2, 0x1234} {
		t.Run(fmt.Sprintf("type %#x", typ), func(t *testing.T) {
			c := dial(t, nil)
			req := connector.Message{ID: ids.echo, Seq: 16, Ack: uint32(typ), Data: []byte("T16!")}
			sendRawOK(t, c, patch16(rawRequest(16, req), offNlmsgType, typ))

			got := mustReceive(t, c, 1)[0]
			if diff := diffMessage(echoOf(req), got.Message); diff != "" {
				t.Errorf("unexpected reply (-want +got):\n%s", diff)
			}
			if got.Header.Type != netlink.Done {
				t.Errorf("reply type %v, want NLMSG_DONE", got.Header.Type)
			}
		})
	}
}

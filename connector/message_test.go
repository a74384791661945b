// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// hello is docs/connector.md's T1 message.
var hello = Message{
	ID:    ID{Idx: 16, Val: 1},
	Seq:   1234,
	Ack:   5678,
	Flags: 0xabcd,
	Data:  []byte("hello"),
}

func TestConstants(t *testing.T) {
	// docs/connector.md §1.1 and §1.4.
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"Protocol", Protocol, 11},
		{"HeaderLen", HeaderLen, 20},
		{"MaxMessageSize", MaxMessageSize, 16384},
		{"MaxDataLen", MaxDataLen, 16364},
		{"nlHeaderLen", nlHeaderLen, 16},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestMessageLayout(t *testing.T) {
	b, err := hello.MarshalBinary()
	if err != nil {
		t.Fatalf("failed to marshal: %v", err)
	}
	if len(b) != HeaderLen+5 {
		t.Fatalf("marshaled %d bytes, want %d", len(b), HeaderLen+5)
	}

	// Offsets from struct cn_msg; docs/connector.md §1.1 counts 16 more.
	for _, f := range []struct {
		name      string
		off, size int
		want      uint64
	}{
		{"id.idx", 0, 4, 16},
		{"id.val", 4, 4, 1},
		{"seq", 8, 4, 1234},
		{"ack", 12, 4, 5678},
		{"len", 16, 2, 5},
		{"flags", 18, 2, 0xabcd},
	} {
		var got uint64
		switch f.size {
		case 2:
			got = uint64(binary.NativeEndian.Uint16(b[f.off:]))
		case 4:
			got = uint64(binary.NativeEndian.Uint32(b[f.off:]))
		}
		if got != f.want {
			t.Errorf("%s at offset %d = %#x, want %#x", f.name, f.off, got, f.want)
		}
	}
	if got := string(b[20:]); got != "hello" {
		t.Errorf("data at offset 20 = %q, want %q", got, "hello")
	}
}

// TestMarshalRequestGolden pins T1's request bytes on little-endian hosts.
func TestMarshalRequestGolden(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	want := []byte{
		41, 0, 0, 0, // nlmsg_len: 16+20+5, not rounded up
		3, 0, // nlmsg_type: NLMSG_DONE
		0, 0, // nlmsg_flags
		0xd2, 0x04, 0, 0, // nlmsg_seq = cn seq 1234
		0, 0, 0, 0, // nlmsg_pid
		16, 0, 0, 0, 1, 0, 0, 0, // id 16:1
		0xd2, 0x04, 0, 0, // seq 1234
		0x2e, 0x16, 0, 0, // ack 5678
		5, 0, // len
		0xcd, 0xab, // flags
		'h', 'e', 'l', 'l', 'o',
	}
	got, err := marshalRequest(hello)
	if err != nil {
		t.Fatalf("failed to marshal request: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected request bytes (-want +got):\n%s", diff)
	}
}

func TestMarshalRequestSizes(t *testing.T) {
	// docs/connector.md T3-T7: what sendmsg should report for each data length.
	for _, n := range []int{0, 1, 3, 4, MaxDataLen - 1, MaxDataLen, MaxDataLen + 1, 65535} {
		b, err := marshalRequest(Message{Seq: 7, Data: make([]byte, n)})
		if err != nil {
			t.Fatalf("len %d: failed to marshal: %v", n, err)
		}
		h := netlinkHeader(b)
		want := netlink.Header{Length: uint32(36 + n), Type: netlink.Done, Sequence: 7}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("len %d: unexpected header (-want +got):\n%s", n, diff)
		}
		if len(b) != 36+n {
			t.Errorf("len %d: %d bytes, want %d", n, len(b), 36+n)
		}
	}
	if _, err := marshalRequest(Message{Data: make([]byte, 65536)}); err == nil {
		t.Fatal("65536 data bytes: want an error")
	}
}

func TestMessageMarshalBinary(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		len  int
		ok   bool
	}{
		{name: "empty", m: Message{}, len: 20, ok: true},
		{name: "one byte", m: Message{Data: []byte{1}}, len: 21, ok: true},
		{name: "max data", m: Message{Data: make([]byte, MaxDataLen)}, len: MaxMessageSize, ok: true},
		{name: "beyond kernel max", m: Message{Data: make([]byte, MaxDataLen+1)}, len: MaxMessageSize + 1, ok: true},
		{name: "u16 max", m: Message{Data: make([]byte, 65535)}, len: 65555, ok: true},
		{name: "u16 overflow", m: Message{Data: make([]byte, 65536)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.MarshalBinary()
			if tt.ok && err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatal("expected an error, but none occurred")
				}
				return
			}
			if len(b) != tt.len {
				t.Fatalf("marshaled %d bytes, want %d", len(b), tt.len)
			}
		})
	}
}

func TestMessageUnmarshalBinary(t *testing.T) {
	wire := mustMarshal(t, hello)
	slack := append(mustMarshal(t, hello), 'x', 'y', 'z')

	tests := []struct {
		name string
		b    []byte
		m    Message
		err  string
	}{
		{name: "hello", b: wire, m: hello},
		{name: "padding ignored", b: append(mustMarshal(t, hello), 0, 0, 0), m: hello},
		{name: "slack ignored", b: slack, m: hello},
		{name: "no data", b: mustMarshal(t, Message{Seq: 1}), m: Message{Seq: 1}},
		{name: "nil", b: nil, err: "shorter than the 20-byte cn_msg header"},
		{name: "19 bytes", b: wire[:19], err: "19-byte message"},
		{name: "len overruns", b: wire[:24], err: "cn_msg.len 5 overruns the 4 bytes"},
		{name: "len overruns empty", b: withLen(wire[:20], 1), err: "cn_msg.len 1 overruns the 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			err := m.UnmarshalBinary(tt.b)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.m, m); diff != "" {
				t.Fatalf("unexpected message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, MaxDataLen - 1, MaxDataLen, MaxDataLen + 1, 65535} {
		m := Message{ID: ID{Idx: ^uint32(0), Val: 2}, Seq: 3, Ack: ^uint32(0), Flags: 0xffff}
		if n > 0 {
			m.Data = bytes.Repeat([]byte{0xa5}, n)
		}
		var got Message
		if err := got.UnmarshalBinary(mustMarshal(t, m)); err != nil {
			t.Fatalf("len %d: failed to unmarshal: %v", n, err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Fatalf("len %d: unexpected message (-want +got):\n%s", n, diff)
		}
	}
}

func TestMessageUnmarshalCopies(t *testing.T) {
	b := mustMarshal(t, hello)
	var m Message
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	b[HeaderLen] = 'j'
	if string(m.Data) != "hello" {
		t.Fatalf("Data aliases the input: %q", m.Data)
	}
}

func TestIDString(t *testing.T) {
	if got, want := (ID{Idx: 16, Val: 1}).String(), "16:1"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got, want := (ID{Idx: 0xffffffff, Val: 0x457}).String(), "4294967295:1111"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestParseDatagram(t *testing.T) {
	// What the kernel sends for T1: nlmsg_len 41, padded to 44 (§1.2).
	echo := appendNetlink(nil, netlink.Header{Type: netlink.Done, Sequence: 1234}, mustMarshal(t, hello))
	empty := appendNetlink(nil, netlink.Header{Type: netlink.Done, Sequence: 9}, mustMarshal(t, Message{Seq: 9}))
	echoHdr := netlink.Header{Length: 41, Type: netlink.Done, Sequence: 1234}
	emptyHdr := netlink.Header{Length: 36, Type: netlink.Done, Sequence: 9}

	tests := []struct {
		name   string
		b      []byte
		groups uint32
		want   []Received
		err    string
	}{
		{name: "no bytes"},
		{
			name: "kernel echo",
			b:    echo,
			want: []Received{{Message: hello, Header: echoHdr}},
		},
		{
			name:   "multicast",
			b:      empty,
			groups: 1 << 15,
			want:   []Received{{Message: Message{Seq: 9}, Groups: 1 << 15, Header: emptyHdr}},
		},
		{
			name: "unpadded last message",
			b:    echo[:41],
			want: []Received{{Message: hello, Header: echoHdr}},
		},
		{
			name: "two messages, first unaligned",
			b:    append(append([]byte(nil), echo...), empty...),
			want: []Received{
				{Message: hello, Header: echoHdr},
				{Message: Message{Seq: 9}, Header: emptyHdr},
			},
		},
		{name: "trailing bytes", b: append(append([]byte(nil), empty...), 1, 2, 3, 4), err: "4 bytes at offset 36"},
		{name: "short header", b: echo[:15], err: "15 bytes at offset 0"},
		{name: "nlmsg_len zero", b: withNlmsgLen(echo, 0), err: "nlmsg_len 0 outside"},
		{name: "nlmsg_len beyond datagram", b: withNlmsgLen(echo, 45), err: "nlmsg_len 45 outside"},
		{name: "no cn_msg", b: withNlmsgLen(echo, 35), err: "19-byte message"},
		{name: "cn_msg.len overruns", b: withNlmsgLen(echo, 40), err: "cn_msg.len 5 overruns the 4 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDatagram(tt.b, tt.groups)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("failed to parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendNetlinkPads(t *testing.T) {
	for n, want := range map[int]int{0: 16, 1: 20, 3: 20, 4: 20, 5: 24} {
		if got := len(appendNetlink(nil, netlink.Header{}, make([]byte, n))); got != want {
			t.Errorf("%d data bytes: datagram of %d, want %d", n, got, want)
		}
	}
}

func mustMarshal(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("failed to marshal: %v", err)
	}
	return b
}

// withLen returns a copy of the cn_msg b with its len field set to n.
func withLen(b []byte, n uint16) []byte {
	b = bytes.Clone(b)
	binary.NativeEndian.PutUint16(b[offLen:], n)
	return b
}

// withNlmsgLen returns a copy of the netlink message b with nlmsg_len n.
func withNlmsgLen(b []byte, n uint32) []byte {
	b = bytes.Clone(b)
	binary.NativeEndian.PutUint32(b, n)
	return b
}

// SPDX-License-Identifier: MIT

package connector

import (
	"testing"

	"github.com/mdlayher/netlink"
)

// Benchmarks of the encoders and decoders, the host-side cost of every
// message. cnvmtest bench runs them with -benchmem; the round trip through
// the kernel is measured in the guest (harness/bench/guest).

var benchSizes = []struct {
	name string
	n    int
}{{"64B", 64}, {"4KiB", 4096}}

func benchMessage(n int) Message {
	return Message{ID: ID{Idx: 16, Val: 1}, Seq: 7, Ack: 8, Flags: 1, Data: make([]byte, n)}
}

func BenchmarkMarshalBinary(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			m := benchMessage(s.n)
			b.SetBytes(int64(HeaderLen + s.n))
			for b.Loop() {
				if _, err := m.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			wire, err := benchMessage(s.n).MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(wire)))
			var m Message
			for b.Loop() {
				if err := m.UnmarshalBinary(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshalRequest is the framing Send adds: nlmsghdr and cn_msg in
// one buffer.
func BenchmarkMarshalRequest(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			m := benchMessage(s.n)
			b.SetBytes(int64(nlHeaderLen + HeaderLen + s.n))
			for b.Loop() {
				if _, err := marshalRequest(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseDatagram decodes what one recvmsg returns: an echo, a
// cn_proc event, and four echoes in one datagram.
func BenchmarkParseDatagram(b *testing.B) {
	echo, err := marshalRequest(benchMessage(64))
	if err != nil {
		b.Fatal(err)
	}
	var four []byte
	for range 4 {
		m := benchMessage(64)
		four = appendNetlink(four, netlink.Header{Type: netlink.Done, Sequence: m.Seq}, must(m.MarshalBinary()))
	}
	cases := []struct {
		name string
		wire []byte
		msgs int
	}{
		{"echo", echo, 1},
		{"proc", procWire(ProcEventFork, 1, procTS, 9, 0, 100, 100, 101, 101), 1},
		{"fourEchoes", four, 4},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.wire)))
			for b.Loop() {
				rs, err := parseDatagram(c.wire, 0)
				if err != nil || len(rs) != c.msgs {
					b.Fatalf("got %d messages, %v; want %d", len(rs), err, c.msgs)
				}
			}
		})
	}
}

func BenchmarkParseProcEvent(b *testing.B) {
	cases := []struct {
		name string
		wire []byte
	}{
		{"fork", procWire(ProcEventFork, 1, procTS, 9, 0, 100, 100, 101, 101)},
		{"exit", procWire(ProcEventExit, 0, procTS, 10, 0, 101, 101, 0x300, 17, 100, 100)},
		{"comm", withComm(procWire(ProcEventComm, 0, procTS, 11, 0, 101, 101), "worker")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rs, err := parseDatagram(c.wire, 0)
			if err != nil {
				b.Fatal(err)
			}
			m := rs[0].Message
			for b.Loop() {
				if _, err := ParseProcEvent(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

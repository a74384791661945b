// SPDX-License-Identifier: MIT

package connector

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// Every header the connector speaks is in the host's byte order, so a field
// encoded in a fixed order is right on one kind of host and wrong on the
// other. These tests run the codecs in both orders on any host, against
// bytes written out by hand for each: a little-endian host (amd64, arm64)
// checks here what only a big-endian guest (s390x) could show otherwise.

// orders are the two byte orders with the bytes of each test in them.
var orders = []struct {
	name  string
	order byteOrder
}{
	{"little-endian", binary.LittleEndian},
	{"big-endian", binary.BigEndian},
}

// withHostOrder makes the package encode and decode in o until the test
// ends. Tests that call it must not be parallel.
func withHostOrder(t *testing.T, o byteOrder) {
	t.Helper()
	old := hostOrder
	hostOrder = o
	t.Cleanup(func() { hostOrder = old })
}

// hexBytes decodes space-separated hex, "29 00 00 00".
func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad test bytes %q: %v", s, err)
	}
	return b
}

// TestByteOrderRequest checks T1's request, nlmsghdr and cn_msg, as
// encoded in each order, and that each order decodes its own bytes.
func TestByteOrderRequest(t *testing.T) {
	want := map[string]string{
		// nlmsghdr: len 41, NLMSG_DONE, no flags, seq 1234, pid 0;
		// cn_msg: 16:1, seq 1234, ack 5678, len 5, flags 0xabcd.
		"little-endian": "29 00 00 00  03 00  00 00  d2 04 00 00  00 00 00 00" +
			"  10 00 00 00  01 00 00 00  d2 04 00 00  2e 16 00 00  05 00  cd ab",
		"big-endian": "00 00 00 29  00 03  00 00  00 00 04 d2  00 00 00 00" +
			"  00 00 00 10  00 00 00 01  00 00 04 d2  00 00 16 2e  00 05  ab cd",
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			withHostOrder(t, o.order)
			wantBytes := append(hexBytes(t, want[o.name]), "hello"...)

			got, err := marshalRequest(hello)
			if err != nil {
				t.Fatalf("marshalRequest: %v", err)
			}
			if diff := cmp.Diff(wantBytes, got); diff != "" {
				t.Errorf("request bytes (-want +got):\n%s", diff)
			}

			h := netlinkHeader(wantBytes)
			wantHeader := netlink.Header{Length: 41, Type: netlink.Done, Sequence: 1234}
			if diff := cmp.Diff(wantHeader, h); diff != "" {
				t.Errorf("decoded nlmsghdr (-want +got):\n%s", diff)
			}
			var m Message
			if err := m.UnmarshalBinary(wantBytes[nlHeaderLen:]); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if diff := cmp.Diff(hello, m); diff != "" {
				t.Errorf("decoded cn_msg (-want +got):\n%s", diff)
			}
		})
	}
}

// TestByteOrderProcRequests checks the cn_proc requests: the 4-byte op
// and the 8-byte struct proc_input {op, event_type}.
func TestByteOrderProcRequests(t *testing.T) {
	want := map[string][2]string{
		// PROC_CN_MCAST_LISTEN (1); then LISTEN with the EXIT and FORK
		// bits (0x80000000 | 0x1).
		"little-endian": {"01 00 00 00", "01 00 00 00  01 00 00 80"},
		"big-endian":    {"00 00 00 01", "00 00 00 01  80 00 00 01"},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			withHostOrder(t, o.order)
			if diff := cmp.Diff(hexBytes(t, want[o.name][0]), ProcListenRequest(1, 0).Data); diff != "" {
				t.Errorf("ProcListenRequest data (-want +got):\n%s", diff)
			}
			got := ProcFilterRequest(ProcListen, ProcEventExit|ProcEventFork, 1, 0).Data
			if diff := cmp.Diff(hexBytes(t, want[o.name][1]), got); diff != "" {
				t.Errorf("ProcFilterRequest data (-want +got):\n%s", diff)
			}
		})
	}
}

// TestByteOrderProcEvents decodes cn_proc events as a kernel of each byte
// order sends them: the cn_msg header, then struct proc_event (what, cpu,
// timestamp_ns, event_data).
func TestByteOrderProcEvents(t *testing.T) {
	type event struct {
		what string // what, cpu 3, timestamp_ns 0x0102030405060708
		data string // event_data, padded to 24 bytes below
		want ProcData
	}
	events := map[string][]event{
		"little-endian": {
			{"01 00 00 00  03 00 00 00  08 07 06 05 04 03 02 01",
				"64 00 00 00  64 00 00 00  65 00 00 00  66 00 00 00",
				ProcFork{ParentPID: 100, ParentTGID: 100, ChildPID: 101, ChildTGID: 102}},
			{"00 00 00 80  03 00 00 00  08 07 06 05 04 03 02 01",
				"65 00 00 00  66 00 00 00  00 05 00 00  11 00 00 00  64 00 00 00  64 00 00 00",
				ProcExit{PID: 101, TGID: 102, ExitCode: 5 << 8, ExitSignal: 17, ParentPID: 100, ParentTGID: 100}},
			{"04 00 00 00  03 00 00 00  08 07 06 05 04 03 02 01",
				"65 00 00 00  66 00 00 00  e8 03 00 00  ff ff ff ff",
				ProcUID{PID: 101, TGID: 102, RUID: 1000, EUID: 0xffffffff}},
		},
		"big-endian": {
			{"00 00 00 01  00 00 00 03  01 02 03 04 05 06 07 08",
				"00 00 00 64  00 00 00 64  00 00 00 65  00 00 00 66",
				ProcFork{ParentPID: 100, ParentTGID: 100, ChildPID: 101, ChildTGID: 102}},
			{"80 00 00 00  00 00 00 03  01 02 03 04 05 06 07 08",
				"00 00 00 65  00 00 00 66  00 00 05 00  00 00 00 11  00 00 00 64  00 00 00 64",
				ProcExit{PID: 101, TGID: 102, ExitCode: 5 << 8, ExitSignal: 17, ParentPID: 100, ParentTGID: 100}},
			{"00 00 00 04  00 00 00 03  01 02 03 04 05 06 07 08",
				"00 00 00 65  00 00 00 66  00 00 03 e8  ff ff ff ff",
				ProcUID{PID: 101, TGID: 102, RUID: 1000, EUID: 0xffffffff}},
		},
	}
	// The cn_msg header of an event: id 1:1, seq 7, ack 0, len 40, flags 0.
	headers := map[string]string{
		"little-endian": "01 00 00 00  01 00 00 00  07 00 00 00  00 00 00 00  28 00  00 00",
		"big-endian":    "00 00 00 01  00 00 00 01  00 00 00 07  00 00 00 00  00 28  00 00",
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			withHostOrder(t, o.order)
			for _, e := range events[o.name] {
				b := append(hexBytes(t, headers[o.name]), hexBytes(t, e.what)...)
				b = append(b, hexBytes(t, e.data)...)
				b = append(b, make([]byte, HeaderLen+ProcEventLen-len(b))...)

				var m Message
				if err := m.UnmarshalBinary(b); err != nil {
					t.Fatalf("UnmarshalBinary: %v", err)
				}
				ev, err := ParseProcEvent(m)
				if err != nil {
					t.Fatalf("ParseProcEvent: %v", err)
				}
				if ev.CPU != 3 || ev.Timestamp != 0x0102030405060708 || ev.Seq != 7 {
					t.Errorf("%T: cpu %d, timestamp %#x, seq %d; want 3, 0x0102030405060708, 7",
						e.want, ev.CPU, ev.Timestamp, ev.Seq)
				}
				if diff := cmp.Diff(e.want, ev.Data); diff != "" {
					t.Errorf("event data (-want +got):\n%s", diff)
				}
			}
		})
	}
}

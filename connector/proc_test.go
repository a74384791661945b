// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

func TestProcConstants(t *testing.T) {
	// include/uapi/linux/cn_proc.h and connector.h, 6.12.
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"ProcGroup", ProcGroup, 1},
		{"ProcListen", uint64(ProcListen), 1},
		{"ProcIgnore", uint64(ProcIgnore), 2},
		{"ProcEventNone", uint64(ProcEventNone), 0},
		{"ProcEventFork", uint64(ProcEventFork), 0x1},
		{"ProcEventExec", uint64(ProcEventExec), 0x2},
		{"ProcEventUID", uint64(ProcEventUID), 0x4},
		{"ProcEventGID", uint64(ProcEventGID), 0x40},
		{"ProcEventSID", uint64(ProcEventSID), 0x80},
		{"ProcEventPtrace", uint64(ProcEventPtrace), 0x100},
		{"ProcEventComm", uint64(ProcEventComm), 0x200},
		{"ProcEventNonzeroExit", uint64(ProcEventNonzeroExit), 0x20000000},
		{"ProcEventCoredump", uint64(ProcEventCoredump), 0x40000000},
		{"ProcEventExit", uint64(ProcEventExit), 0x80000000},
		// PROC_EVENT_ALL ORs every enum value but NONE, NONZERO_EXIT included.
		{"ProcEventAll", uint64(ProcEventAll), 0xe00003c7},
		{"ProcEventLen", ProcEventLen, 40},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if want := (ID{Idx: 1, Val: 1}); ProcID != want {
		t.Errorf("ProcID = %v, want %v", ProcID, want)
	}
}

// TestProcRequestsGolden pins the request datagrams on little-endian hosts.
func TestProcRequestsGolden(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	header := func(nlmsgLen, op byte) []byte {
		return []byte{
			nlmsgLen, 0, 0, 0, // nlmsg_len, exact
			3, 0, // NLMSG_DONE
			0, 0, // nlmsg_flags
			0x11, 0x11, 0, 0, // nlmsg_seq = cn seq
			0, 0, 0, 0, // nlmsg_pid
			1, 0, 0, 0, 1, 0, 0, 0, // id 1:1
			0x11, 0x11, 0, 0, // seq 0x1111
			0x22, 0x22, 0, 0, // ack 0x2222
			op, 0, // len
			0, 0, // flags
		}
	}
	tests := []struct {
		name string
		m    Message
		want []byte
	}{
		{
			name: "LISTEN",
			m:    ProcListenRequest(0x1111, 0x2222),
			want: append(header(40, 4), 1, 0, 0, 0),
		},
		{
			name: "IGNORE",
			m:    ProcIgnoreRequest(0x1111, 0x2222),
			want: append(header(40, 4), 2, 0, 0, 0),
		},
		{
			name: "LISTEN filter",
			m:    ProcFilterRequest(ProcListen, ProcEventNonzeroExit|ProcEventFork, 0x1111, 0x2222),
			want: append(header(44, 8), 1, 0, 0, 0, 0x01, 0, 0, 0x20),
		},
		{
			name: "IGNORE filter",
			m:    ProcFilterRequest(ProcIgnore, ProcEventAll, 0x1111, 0x2222),
			want: append(header(44, 8), 2, 0, 0, 0, 0xc7, 0x03, 0, 0xe0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalRequest(tt.m)
			if err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected request bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProcRequests(t *testing.T) {
	// Byte order independent: struct proc_input is {mcast_op, event_type}.
	for _, tt := range []struct {
		name      string
		m         Message
		op, event uint32
		len       int
	}{
		{"LISTEN", ProcListenRequest(7, 9), ProcListen, 0, 4},
		{"IGNORE", ProcIgnoreRequest(7, 9), ProcIgnore, 0, 4},
		{"filter", ProcFilterRequest(ProcListen, ProcEventExit, 7, 9), ProcListen, ProcEventExit, 8},
		{"invalid op", ProcFilterRequest(3, 0, 7, 9), 3, 0, 8},
	} {
		if tt.m.ID != ProcID || tt.m.Seq != 7 || tt.m.Ack != 9 || tt.m.Flags != 0 {
			t.Errorf("%s: id %v seq %d ack %d flags %#x, want 1:1 7 9 0", tt.name, tt.m.ID, tt.m.Seq, tt.m.Ack, tt.m.Flags)
		}
		if len(tt.m.Data) != tt.len {
			t.Fatalf("%s: %d data bytes, want %d", tt.name, len(tt.m.Data), tt.len)
		}
		if op := binary.NativeEndian.Uint32(tt.m.Data[0:]); op != tt.op {
			t.Errorf("%s: mcast_op = %d, want %d", tt.name, op, tt.op)
		}
		if tt.len == 8 {
			if ev := binary.NativeEndian.Uint32(tt.m.Data[4:]); ev != tt.event {
				t.Errorf("%s: event_type = %#x, want %#x", tt.name, ev, tt.event)
			}
		}
	}
}

// Wire offsets of a cn_proc datagram (docs/connector.md §1.1, §5.1): the
// proc_event starts at 36, after the nlmsghdr and the cn_msg.
const (
	wireWhat      = 36
	wireCPU       = 40
	wireTimestamp = 44 // not 8-byte aligned
	wireEventData = 52
	wireProcLen   = 76
)

// procWire builds the datagram the kernel sends for one event, field by
// field at its wire offset. words fill event_data as consecutive u32s.
func procWire(what, cpu uint32, timestamp uint64, seq, ack uint32, words ...uint32) []byte {
	b := make([]byte, wireProcLen)
	binary.NativeEndian.PutUint32(b[0:], wireProcLen)          // nlmsg_len
	binary.NativeEndian.PutUint16(b[4:], uint16(netlink.Done)) // nlmsg_type
	binary.NativeEndian.PutUint32(b[8:], seq)                  // nlmsg_seq
	binary.NativeEndian.PutUint32(b[16:], 1)                   // id.idx
	binary.NativeEndian.PutUint32(b[20:], 1)                   // id.val
	binary.NativeEndian.PutUint32(b[24:], seq)
	binary.NativeEndian.PutUint32(b[28:], ack)
	binary.NativeEndian.PutUint16(b[32:], ProcEventLen)
	binary.NativeEndian.PutUint32(b[wireWhat:], what)
	binary.NativeEndian.PutUint32(b[wireCPU:], cpu)
	binary.NativeEndian.PutUint64(b[wireTimestamp:], timestamp)
	for i, w := range words {
		binary.NativeEndian.PutUint32(b[wireEventData+4*i:], w)
	}
	return b
}

// withComm writes comm into the comm event_data of a procWire datagram.
func withComm(b []byte, comm string) []byte {
	copy(b[wireEventData+8:wireEventData+8+16], comm)
	return b
}

const procTS = 0x0123456789abcdef

func TestParseProcEvent(t *testing.T) {
	raw := func(words ...uint32) []byte {
		b := make([]byte, 24)
		for i, w := range words {
			binary.NativeEndian.PutUint32(b[4*i:], w)
		}
		return b
	}
	commRaw := func(comm string) []byte {
		b := raw(300, 301)
		copy(b[8:], comm)
		return b
	}

	tests := []struct {
		name string
		wire []byte
		want ProcEvent
	}{
		{
			name: "ack",
			wire: procWire(ProcEventNone, 1, procTS, 44050, 0x2223, 0),
			want: ProcEvent{What: ProcEventNone, CPU: 1, Timestamp: procTS, Seq: 44050, Ack: 0x2223,
				Data: ProcAck{}, Raw: raw()},
		},
		{
			name: "ack EPERM",
			wire: procWire(ProcEventNone, 0, procTS, 0, 1, 1),
			want: ProcEvent{What: ProcEventNone, Timestamp: procTS, Ack: 1, Data: ProcAck{Err: 1}, Raw: raw(1)},
		},
		{
			name: "fork",
			wire: procWire(ProcEventFork, 3, procTS, 5, 0, 100, 101, 200, 201),
			want: ProcEvent{What: ProcEventFork, CPU: 3, Timestamp: procTS, Seq: 5,
				Data: ProcFork{ParentPID: 100, ParentTGID: 101, ChildPID: 200, ChildTGID: 201},
				Raw:  raw(100, 101, 200, 201)},
		},
		{
			name: "exec",
			wire: procWire(ProcEventExec, 2, procTS, 6, 0, 200, 201),
			want: ProcEvent{What: ProcEventExec, CPU: 2, Timestamp: procTS, Seq: 6,
				Data: ProcExec{PID: 200, TGID: 201}, Raw: raw(200, 201)},
		},
		{
			name: "uid",
			wire: procWire(ProcEventUID, 0, procTS, 7, 0, 200, 201, 1000, 65534),
			want: ProcEvent{What: ProcEventUID, Timestamp: procTS, Seq: 7,
				Data: ProcUID{PID: 200, TGID: 201, RUID: 1000, EUID: 65534}, Raw: raw(200, 201, 1000, 65534)},
		},
		{
			name: "gid",
			wire: procWire(ProcEventGID, 0, procTS, 8, 0, 200, 201, 100, 0),
			want: ProcEvent{What: ProcEventGID, Timestamp: procTS, Seq: 8,
				Data: ProcGID{PID: 200, TGID: 201, RGID: 100}, Raw: raw(200, 201, 100)},
		},
		{
			name: "sid",
			wire: procWire(ProcEventSID, 0, procTS, 9, 0, 200, 201),
			want: ProcEvent{What: ProcEventSID, Timestamp: procTS, Seq: 9,
				Data: ProcSID{PID: 200, TGID: 201}, Raw: raw(200, 201)},
		},
		{
			name: "ptrace attach",
			wire: procWire(ProcEventPtrace, 0, procTS, 10, 0, 200, 201, 100, 101),
			want: ProcEvent{What: ProcEventPtrace, Timestamp: procTS, Seq: 10,
				Data: ProcPtrace{PID: 200, TGID: 201, TracerPID: 100, TracerTGID: 101}, Raw: raw(200, 201, 100, 101)},
		},
		{
			name: "ptrace detach",
			wire: procWire(ProcEventPtrace, 0, procTS, 11, 0, 200, 201),
			want: ProcEvent{What: ProcEventPtrace, Timestamp: procTS, Seq: 11,
				Data: ProcPtrace{PID: 200, TGID: 201}, Raw: raw(200, 201)},
		},
		{
			name: "comm",
			wire: withComm(procWire(ProcEventComm, 0, procTS, 12, 0, 300, 301), "worker"),
			want: ProcEvent{What: ProcEventComm, Timestamp: procTS, Seq: 12,
				Data: ProcComm{PID: 300, TGID: 301, Comm: "worker"}, Raw: commRaw("worker")},
		},
		{
			name: "comm of 16 bytes without NUL",
			wire: withComm(procWire(ProcEventComm, 0, procTS, 13, 0, 300, 301), "0123456789abcdef"),
			want: ProcEvent{What: ProcEventComm, Timestamp: procTS, Seq: 13,
				Data: ProcComm{PID: 300, TGID: 301, Comm: "0123456789abcdef"}, Raw: commRaw("0123456789abcdef")},
		},
		{
			name: "coredump",
			wire: procWire(ProcEventCoredump, 0, procTS, 14, 0, 200, 201, 100, 101),
			want: ProcEvent{What: ProcEventCoredump, Timestamp: procTS, Seq: 14,
				Data: ProcCoredump{PID: 200, TGID: 201, ParentPID: 100, ParentTGID: 101}, Raw: raw(200, 201, 100, 101)},
		},
		{
			name: "exit(3)",
			wire: procWire(ProcEventExit, 0, procTS, 15, 0, 200, 201, 0x300, 17, 100, 101),
			want: ProcEvent{What: ProcEventExit, Timestamp: procTS, Seq: 15,
				Data: ProcExit{PID: 200, TGID: 201, ExitCode: 0x300, ExitSignal: 17, ParentPID: 100, ParentTGID: 101},
				Raw:  raw(200, 201, 0x300, 17, 100, 101)},
		},
		{
			name: "thread exit",
			wire: procWire(ProcEventExit, 0, procTS, 16, 0, 202, 201, 0, 0xffffffff, 100, 101),
			want: ProcEvent{What: ProcEventExit, Timestamp: procTS, Seq: 16,
				Data: ProcExit{PID: 202, TGID: 201, ExitSignal: 0xffffffff, ParentPID: 100, ParentTGID: 101},
				Raw:  raw(202, 201, 0, 0xffffffff, 100, 101)},
		},
		{
			name: "unknown kind keeps its bytes",
			wire: procWire(0x400, 0, procTS, 17, 0, 1, 2, 3, 4, 5, 6),
			want: ProcEvent{What: 0x400, Timestamp: procTS, Seq: 17, Raw: raw(1, 2, 3, 4, 5, 6)},
		},
		{
			name: "filter bit as kind",
			wire: procWire(ProcEventNonzeroExit, 0, procTS, 18, 0, 1),
			want: ProcEvent{What: ProcEventNonzeroExit, Timestamp: procTS, Seq: 18, Raw: raw(1)},
		},
		{
			name: "two kinds at once",
			wire: procWire(ProcEventFork|ProcEventExec, 0, procTS, 19, 0, 1),
			want: ProcEvent{What: ProcEventFork | ProcEventExec, Timestamp: procTS, Seq: 19, Raw: raw(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through the datagram parser, as ReceiveFrom hands it over.
			rs, err := parseDatagram(tt.wire, 1)
			if err != nil || len(rs) != 1 {
				t.Fatalf("parseDatagram = %d messages, %v; want 1, nil", len(rs), err)
			}
			got, err := ParseProcEvent(rs[0].Message)
			if err != nil {
				t.Fatalf("failed to parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected event (-want +got):\n%s", diff)
			}

			// Straight from the receive buffer: the timestamp is read at
			// wire offset 44, 4 bytes off 8-byte alignment.
			m := Message{ID: ProcID, Seq: tt.want.Seq, Ack: tt.want.Ack, Data: tt.wire[wireWhat:]}
			got, err = ParseProcEvent(m)
			if err != nil {
				t.Fatalf("failed to parse in place: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected event in place (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProcEventErrors(t *testing.T) {
	event := procWire(ProcEventFork, 0, procTS, 0, 0, 1, 2, 3, 4)[wireWhat:]
	tests := []struct {
		name string
		m    Message
		err  error
		msg  string
	}{
		{name: "other ID", m: Message{ID: ID{Idx: 16, Val: 1}, Data: event}, err: errNotProc, msg: "message for 16:1"},
		{name: "39 bytes", m: Message{ID: ProcID, Data: event[:39]}, err: errShortProcEvent, msg: "39 bytes, want 40"},
		{name: "ack of 4 bytes", m: Message{ID: ProcID, Data: event[:4]}, err: errShortProcEvent, msg: "4 bytes"},
		{name: "no data", m: Message{ID: ProcID}, err: errShortProcEvent, msg: "0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProcEvent(tt.m)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error = %v, want %v containing %q", err, tt.err, tt.msg)
			}
		})
	}
}

func TestParseProcEventLonger(t *testing.T) {
	// A future kernel may grow the union; Raw keeps all of it.
	data := append(procWire(ProcEventExec, 0, procTS, 0, 0, 200, 201)[wireWhat:], 0xaa, 0xbb, 0xcc, 0xdd)
	got, err := ParseProcEvent(Message{ID: ProcID, Data: data})
	if err != nil {
		t.Fatalf("failed to parse: %v", err)
	}
	if len(got.Raw) != 28 || !bytes.Equal(got.Raw[24:], []byte{0xaa, 0xbb, 0xcc, 0xdd}) {
		t.Fatalf("Raw = %x, want 28 bytes ending aabbccdd", got.Raw)
	}
	if want := (ProcExec{PID: 200, TGID: 201}); got.Data != want {
		t.Fatalf("Data = %#v, want %#v", got.Data, want)
	}
}

func TestParseProcEventCopies(t *testing.T) {
	data := procWire(ProcEventExec, 0, procTS, 0, 0, 200, 201)[wireWhat:]
	got, err := ParseProcEvent(Message{ID: ProcID, Data: data})
	if err != nil {
		t.Fatalf("failed to parse: %v", err)
	}
	data[offEventData] = 0xff
	if got.Raw[0] == 0xff {
		t.Fatal("Raw aliases the message data")
	}
}

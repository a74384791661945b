// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzProcEvent feeds ParseProcEvent arbitrary cn_msg data. The committed
// corpus in testdata/fuzz/FuzzProcEvent holds an event of every kind as
// the kernel sends it, plus the edge cases.
func FuzzProcEvent(f *testing.F) {
	f.Add(procWire(ProcEventExit, 0, procTS, 0, 0, 200, 201, 0x300, 17, 100, 101)[wireWhat:])

	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseProcEvent(Message{ID: ProcID, Seq: 1, Ack: 2, Data: data})
		if err != nil {
			if len(data) >= ProcEventLen {
				t.Fatalf("failed to parse %d bytes: %v", len(data), err)
			}
			return
		}
		if len(data) < ProcEventLen {
			t.Fatalf("parsed %d bytes, fewer than a proc_event", len(data))
		}
		if ev.What != binary.NativeEndian.Uint32(data) || ev.Seq != 1 || ev.Ack != 2 {
			t.Fatalf("header fields wrong: %+v", ev)
		}
		if !bytes.Equal(ev.Raw, data[offEventData:]) {
			t.Fatalf("Raw = %x, want %x", ev.Raw, data[offEventData:])
		}
		if &ev.Raw[0] == &data[offEventData] {
			t.Fatal("Raw aliases the input")
		}
		checkProcData(t, ev)
	})
}

// checkProcData checks that ev.Data holds what ev.Raw says.
func checkProcData(t *testing.T, ev ProcEvent) {
	t.Helper()
	w := func(i int) uint32 { return binary.NativeEndian.Uint32(ev.Raw[4*i:]) }
	var (
		kind uint32
		got  []uint32
	)
	switch d := ev.Data.(type) {
	case nil:
		switch ev.What {
		case ProcEventNone, ProcEventFork, ProcEventExec, ProcEventUID, ProcEventGID, ProcEventSID,
			ProcEventPtrace, ProcEventComm, ProcEventCoredump, ProcEventExit:
			t.Fatalf("no payload for known kind %#x", ev.What)
		}
		return
	case ProcAck:
		kind = ProcEventNone
		got = []uint32{d.Err}
	case ProcFork:
		kind = ProcEventFork
		got = []uint32{uint32(d.ParentPID), uint32(d.ParentTGID), uint32(d.ChildPID), uint32(d.ChildTGID)}
	case ProcExec:
		kind = ProcEventExec
		got = []uint32{uint32(d.PID), uint32(d.TGID)}
	case ProcUID:
		kind = ProcEventUID
		got = []uint32{uint32(d.PID), uint32(d.TGID), d.RUID, d.EUID}
	case ProcGID:
		kind = ProcEventGID
		got = []uint32{uint32(d.PID), uint32(d.TGID), d.RGID, d.EGID}
	case ProcSID:
		kind = ProcEventSID
		got = []uint32{uint32(d.PID), uint32(d.TGID)}
	case ProcPtrace:
		kind = ProcEventPtrace
		got = []uint32{uint32(d.PID), uint32(d.TGID), uint32(d.TracerPID), uint32(d.TracerTGID)}
	case ProcComm:
		kind = ProcEventComm
		got = []uint32{uint32(d.PID), uint32(d.TGID)}
		comm := ev.Raw[8:24]
		if n := len(d.Comm); n > 16 || string(comm[:n]) != d.Comm || (n < 16 && comm[n] != 0) {
			t.Fatalf("Comm = %q, raw comm %q", d.Comm, comm)
		}
	case ProcCoredump:
		kind = ProcEventCoredump
		got = []uint32{uint32(d.PID), uint32(d.TGID), uint32(d.ParentPID), uint32(d.ParentTGID)}
	case ProcExit:
		kind = ProcEventExit
		got = []uint32{uint32(d.PID), uint32(d.TGID), d.ExitCode, d.ExitSignal, uint32(d.ParentPID), uint32(d.ParentTGID)}
	default:
		t.Fatalf("unexpected payload type %T", d)
	}
	if kind != ev.What {
		t.Fatalf("What %#x decoded as %T", ev.What, ev.Data)
	}
	for i, v := range got {
		if v != w(i) {
			t.Fatalf("%T field %d = %#x, raw word %#x", ev.Data, i, v, w(i))
		}
	}
}

// SPDX-License-Identifier: MIT

package connector

import (
	"bytes"
	"errors"
	"fmt"
)

// ProcID is the ID of cn_proc, the process events connector:
// {CN_IDX_PROC, CN_VAL_PROC} (docs/connector.md §5.1).
var ProcID = ID{Idx: 1, Val: 1}

// ProcGroup is the multicast group of cn_proc's events and acks.
const ProcGroup = 1

// Operations of a cn_proc request: enum proc_cn_mcast_op.
const (
	ProcListen uint32 = 1 // PROC_CN_MCAST_LISTEN
	ProcIgnore uint32 = 2 // PROC_CN_MCAST_IGNORE
)

// Event kinds, the values of enum proc_cn_event in
// include/uapi/linux/cn_proc.h (6.12). ProcEvent.What holds one of them, and
// a filter (ProcFilterRequest, ProcConfig.Events) is an OR of them.
const (
	ProcEventNone     uint32 = 0x00000000 // an ack
	ProcEventFork     uint32 = 0x00000001
	ProcEventExec     uint32 = 0x00000002
	ProcEventUID      uint32 = 0x00000004
	ProcEventGID      uint32 = 0x00000040
	ProcEventSID      uint32 = 0x00000080
	ProcEventPtrace   uint32 = 0x00000100
	ProcEventComm     uint32 = 0x00000200
	ProcEventCoredump uint32 = 0x40000000
	ProcEventExit     uint32 = 0x80000000

	// ProcEventNonzeroExit is a filter bit only (6.6 and later): it passes
	// the exits with a non-zero exit code. No event carries it.
	ProcEventNonzeroExit uint32 = 0x20000000

	// ProcEventAll is PROC_EVENT_ALL, 0xe00003c7. Like the uapi header it
	// includes ProcEventNonzeroExit: the kernel delivers acks only to a
	// socket whose filter equals PROC_EVENT_ALL exactly (cn_filter in
	// drivers/connector/cn_proc.c, 6.12), so a filter without that bit
	// gets every event but no ack.
	ProcEventAll = ProcEventFork | ProcEventExec | ProcEventUID |
		ProcEventGID | ProcEventSID | ProcEventPtrace | ProcEventComm |
		ProcEventNonzeroExit | ProcEventCoredump | ProcEventExit
)

// ProcEventLen is sizeof(struct proc_event): the Data of every cn_proc
// message (docs/connector.md §5.1).
const ProcEventLen = 40

// Offsets in struct proc_event. The struct starts at wire offset 36, so the
// 8-byte timestamp lies at 44 and is not 8-byte aligned in a receive
// buffer (docs/connector.md §1.1).
const (
	offWhat      = 0
	offCPU       = 4
	offTimestamp = 8
	offEventData = 16

	procCommLen = 16 // TASK_COMM_LEN
)

var (
	errNotProc        = errors.New("not a cn_proc message")
	errShortProcEvent = errors.New("shorter than a struct proc_event")
)

// ProcListenRequest returns a PROC_CN_MCAST_LISTEN request in the 4-byte
// form every kernel accepts. On 6.6 and later it means "all events".
//
// The ack, if any, carries ack+1 but not seq (docs/connector.md §5.2).
func ProcListenRequest(seq, ack uint32) Message {
	return procOpRequest(ProcListen, seq, ack)
}

// ProcIgnoreRequest returns a PROC_CN_MCAST_IGNORE request in the 4-byte
// form every kernel accepts.
func ProcIgnoreRequest(seq, ack uint32) Message {
	return procOpRequest(ProcIgnore, seq, ack)
}

func procOpRequest(op, seq, ack uint32) Message {
	return Message{ID: ProcID, Seq: seq, Ack: ack, Data: hostOrder.AppendUint32(nil, op)}
}

// ProcFilterRequest returns a request in the 8-byte form, struct proc_input
// {op, events}, which sets a per-socket filter: events is an OR of
// ProcEvent* bits, and 0 means ProcEventAll.
//
// Only 6.6 and later understand it. Earlier kernels ignore the request
// silently: no ack, no filter, and no change to the listener count
// (docs/connector.md §5.1). On 6.6 and later a filter other than ProcEventAll
// also suppresses the ack (§5.2).
func ProcFilterRequest(op uint32, events uint32, seq, ack uint32) Message {
	b := make([]byte, 8)
	hostOrder.PutUint32(b[0:], op)
	hostOrder.PutUint32(b[4:], events)
	return Message{ID: ProcID, Seq: seq, Ack: ack, Data: b}
}

// A ProcEvent is a decoded struct proc_event and the cn_msg fields that
// matter for it.
type ProcEvent struct {
	// What is the kind of event, one ProcEvent* value.
	What uint32

	// CPU is the CPU that sent the message.
	CPU uint32

	// Timestamp is ktime_get_ns() at the event: CLOCK_MONOTONIC
	// nanoseconds, the time since boot without suspend.
	Timestamp uint64

	// Seq is the cn_msg seq: a per-CPU counter of cn_proc messages, also
	// in acks (docs/connector.md §5.2).
	Seq uint32

	// Ack is the cn_msg ack: the request's ack+1 in an ack, else 0.
	Ack uint32

	// Data is the decoded event_data, one of the Proc* payload types, or
	// nil if What is not a kind this package knows.
	Data ProcData

	// Raw is a copy of the bytes from event_data on, 24 on every kernel
	// so far. The kernel zeroes what the payload does not use.
	Raw []byte
}

// ProcData is the decoded event_data of a ProcEvent: ProcAck, ProcFork,
// ProcExec, ProcUID, ProcGID, ProcSID, ProcPtrace, ProcComm, ProcCoredump
// or ProcExit.
type ProcData interface {
	procData()
}

// ProcAck is the payload of an ack (ProcEventNone).
type ProcAck struct {
	// Err is a positive errno, 0 for success.
	Err uint32
}

// ProcFork is the payload of ProcEventFork. PIDs are as the initial pid
// namespace sees them; a TGID is a process ID, a PID a thread ID.
type ProcFork struct {
	ParentPID, ParentTGID int32
	ChildPID, ChildTGID   int32
}

// ProcExec is the payload of ProcEventExec.
type ProcExec struct {
	PID, TGID int32
}

// ProcUID is the payload of ProcEventUID. The IDs are mapped into the
// initial user namespace; an unmapped one reads as the overflow ID 65534.
type ProcUID struct {
	PID, TGID  int32
	RUID, EUID uint32
}

// ProcGID is the payload of ProcEventGID, mapped like ProcUID.
type ProcGID struct {
	PID, TGID  int32
	RGID, EGID uint32
}

// ProcSID is the payload of ProcEventSID (setsid).
type ProcSID struct {
	PID, TGID int32
}

// ProcPtrace is the payload of ProcEventPtrace. The tracer is 0 on detach.
type ProcPtrace struct {
	PID, TGID             int32
	TracerPID, TracerTGID int32
}

// ProcComm is the payload of ProcEventComm, sent when a task renames
// itself, not on exec (docs/connector.md §5.1).
type ProcComm struct {
	PID, TGID int32

	// Comm is the new name, up to its NUL: at most 15 bytes from the
	// kernel, 16 if a message lacks the NUL.
	Comm string
}

// ProcCoredump is the payload of ProcEventCoredump. The parent is 0 if it
// was already gone.
type ProcCoredump struct {
	PID, TGID             int32
	ParentPID, ParentTGID int32
}

// ProcExit is the payload of ProcEventExit. The parent is 0 if it was
// already gone.
type ProcExit struct {
	PID, TGID int32

	// ExitCode is task->exit_code in wait-status encoding: exit(3) gives
	// 0x300, death by SIGKILL 9, plus 0x80 with a core dump.
	ExitCode uint32

	// ExitSignal is the signal the parent gets, SIGCHLD (17) as a rule;
	// a thread other than the leader has -1, 0xffffffff here.
	ExitSignal uint32

	ParentPID, ParentTGID int32
}

func (ProcAck) procData()      {}
func (ProcFork) procData()     {}
func (ProcExec) procData()     {}
func (ProcUID) procData()      {}
func (ProcGID) procData()      {}
func (ProcSID) procData()      {}
func (ProcPtrace) procData()   {}
func (ProcComm) procData()     {}
func (ProcCoredump) procData() {}
func (ProcExit) procData()     {}

// ParseProcEvent decodes a cn_proc message: m.ID must be ProcID and m.Data
// at least ProcEventLen bytes. An unknown What is not an error: the event
// comes back with Data nil and the bytes in Raw, so that a newer kernel's
// events do not break callers.
func ParseProcEvent(m Message) (ProcEvent, error) {
	if m.ID != ProcID {
		return ProcEvent{}, fmt.Errorf("message for %s: %w", m.ID, errNotProc)
	}
	b := m.Data
	if len(b) < ProcEventLen {
		return ProcEvent{}, fmt.Errorf("%d bytes, want %d: %w", len(b), ProcEventLen, errShortProcEvent)
	}

	ev := ProcEvent{
		What:      hostOrder.Uint32(b[offWhat:]),
		CPU:       hostOrder.Uint32(b[offCPU:]),
		Timestamp: hostOrder.Uint64(b[offTimestamp:]),
		Seq:       m.Seq,
		Ack:       m.Ack,
		Raw:       bytes.Clone(b[offEventData:]),
	}
	ev.Data = parseProcData(ev.What, ev.Raw)
	return ev, nil
}

// parseProcData decodes event_data, which holds at least 24 bytes.
func parseProcData(what uint32, d []byte) ProcData {
	u32 := func(i int) uint32 { return hostOrder.Uint32(d[4*i:]) }
	i32 := func(i int) int32 { return int32(u32(i)) }

	switch what {
	case ProcEventNone:
		return ProcAck{Err: u32(0)}
	case ProcEventFork:
		return ProcFork{ParentPID: i32(0), ParentTGID: i32(1), ChildPID: i32(2), ChildTGID: i32(3)}
	case ProcEventExec:
		return ProcExec{PID: i32(0), TGID: i32(1)}
	case ProcEventUID:
		return ProcUID{PID: i32(0), TGID: i32(1), RUID: u32(2), EUID: u32(3)}
	case ProcEventGID:
		return ProcGID{PID: i32(0), TGID: i32(1), RGID: u32(2), EGID: u32(3)}
	case ProcEventSID:
		return ProcSID{PID: i32(0), TGID: i32(1)}
	case ProcEventPtrace:
		return ProcPtrace{PID: i32(0), TGID: i32(1), TracerPID: i32(2), TracerTGID: i32(3)}
	case ProcEventComm:
		comm := d[8 : 8+procCommLen]
		if n := bytes.IndexByte(comm, 0); n >= 0 {
			comm = comm[:n]
		}
		return ProcComm{PID: i32(0), TGID: i32(1), Comm: string(comm)}
	case ProcEventCoredump:
		return ProcCoredump{PID: i32(0), TGID: i32(1), ParentPID: i32(2), ParentTGID: i32(3)}
	case ProcEventExit:
		return ProcExit{
			PID: i32(0), TGID: i32(1),
			ExitCode: u32(2), ExitSignal: u32(3),
			ParentPID: i32(4), ParentTGID: i32(5),
		}
	}
	return nil
}

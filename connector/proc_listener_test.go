// SPDX-License-Identifier: MIT

package connector

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink/nltest"
)

// procFake is a transport that plays cn_proc: it records requests and
// queues what respond returns for each of them.
type procFake struct {
	t       *testing.T
	respond func(req Message) []fakeRecv

	mu    sync.Mutex
	sent  []Message
	queue []fakeRecv
	ready chan struct{}
}

func newProcListenerFake(t *testing.T, respond func(req Message) []fakeRecv) (*Conn, *procFake) {
	t.Helper()
	f := &procFake{t: t, respond: respond, ready: make(chan struct{}, 1)}
	// The nltest Conn only serves Close.
	return &Conn{nl: nltest.Dial(nil), t: f}, f
}

func (f *procFake) sendRequest(m Message) error {
	_, err := f.send(appendRequest(nil, m))
	return err
}

func (f *procFake) send(b []byte) (int, error) {
	rs, err := parseDatagram(b, 0)
	if err != nil || len(rs) != 1 {
		f.t.Errorf("request is %d messages, %v; want 1", len(rs), err)
		return len(b), nil
	}
	var out []fakeRecv
	if f.respond != nil {
		out = f.respond(rs[0].Message)
	}
	f.mu.Lock()
	f.sent = append(f.sent, rs[0].Message)
	f.mu.Unlock()
	f.push(out...)
	return len(b), nil
}

func (f *procFake) push(rs ...fakeRecv) {
	f.mu.Lock()
	f.queue = append(f.queue, rs...)
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

func (f *procFake) receive(ctx context.Context) (datagram, error) {
	for {
		f.mu.Lock()
		if len(f.queue) > 0 {
			r := f.queue[0]
			f.queue = f.queue[1:]
			f.mu.Unlock()
			return r.d, r.err
		}
		f.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			return datagram{}, ctx.Err()
		}
	}
}

// requests returns what was sent, as "op/len/events" for comparison: the
// seq and ack are random.
func (f *procFake) requests() []procReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []procReq
	for _, m := range f.sent {
		r := procReq{len: len(m.Data)}
		if len(m.Data) >= 4 {
			r.op = binary.NativeEndian.Uint32(m.Data)
		}
		if len(m.Data) >= 8 {
			r.events = binary.NativeEndian.Uint32(m.Data[4:])
		}
		out = append(out, r)
	}
	return out
}

type procReq struct {
	op, events uint32
	len        int
}

var (
	listen4 = procReq{op: ProcListen, len: 4}
	ignore4 = procReq{op: ProcIgnore, len: 4}
)

// dgram frames cn_proc messages built by procWire as one datagram.
func dgram(msgs ...[]byte) fakeRecv {
	b := slices.Concat(msgs...)
	return fakeRecv{d: datagram{b: b, size: len(b)}}
}

// ackFor is the kernel's ack of req: ack+1, but a seq of its own (§5.2).
func ackFor(req Message, errno uint32) []byte {
	return procWire(ProcEventNone, 1, procTS, req.Seq+999, req.Ack+1, errno)
}

func TestListenProc(t *testing.T) {
	fork := procWire(ProcEventFork, 0, procTS, 1, 0, 10, 10, 11, 11)
	exec := procWire(ProcEventExec, 0, procTS, 2, 0, 11, 11)
	acks := func(errno uint32) func(Message) []fakeRecv {
		return func(req Message) []fakeRecv {
			if binary.NativeEndian.Uint32(req.Data) != ProcListen {
				return nil
			}
			return []fakeRecv{dgram(ackFor(req, errno))}
		}
	}
	silent := func(Message) []fakeRecv { return nil }

	tests := []struct {
		name    string
		cfg     ProcConfig
		respond func(Message) []fakeRecv
		err     error
		acked   bool
		events  []uint32 // the What of each event Next returns
		sent    []procReq
	}{
		{
			name: "ack among other traffic",
			respond: func(req Message) []fakeRecv {
				if binary.NativeEndian.Uint32(req.Data) != ProcListen {
					return nil
				}
				return []fakeRecv{
					dgram(fork),
					// Another listener's ack with our seq, and an event
					// with our ack+1: neither is ours.
					dgram(procWire(ProcEventNone, 0, procTS, req.Seq, req.Ack+7, 0)),
					dgram(procWire(ProcEventExit, 0, procTS, 3, req.Ack+1, 11, 11)),
					dgram(ackFor(req, 0), exec),
				}
			},
			acked:  true,
			events: []uint32{ProcEventFork, ProcEventNone, ProcEventExit, ProcEventExec},
			sent:   []procReq{listen4, ignore4},
		},
		{
			name:    "filter of all events waits",
			cfg:     ProcConfig{Events: ProcEventAll},
			respond: acks(0),
			acked:   true,
			sent: []procReq{
				{op: ProcListen, events: ProcEventAll, len: 8},
				{op: ProcIgnore, events: ProcEventAll, len: 8},
			},
		},
		{
			name:    "filter masked to all events waits",
			cfg:     ProcConfig{Events: 0xffffffff},
			respond: acks(0),
			acked:   true,
			sent: []procReq{
				{op: ProcListen, events: 0xffffffff, len: 8},
				{op: ProcIgnore, events: 0xffffffff, len: 8},
			},
		},
		{
			name:    "partial filter does not wait",
			cfg:     ProcConfig{Events: ProcEventNonzeroExit},
			respond: silent,
			sent: []procReq{
				{op: ProcListen, events: ProcEventNonzeroExit, len: 8},
				{op: ProcIgnore, events: ProcEventNonzeroExit, len: 8},
			},
		},
		{
			name:    "NoAck",
			cfg:     ProcConfig{NoAck: true},
			respond: silent,
			sent:    []procReq{listen4, ignore4},
		},
		{
			name:    "refused",
			respond: acks(1),
			err:     syscall.EPERM,
			sent:    []procReq{listen4}, // nothing to undo
		},
		{
			name:    "no ack",
			cfg:     ProcConfig{AckTimeout: 20 * time.Millisecond},
			respond: silent,
			err:     context.DeadlineExceeded,
			sent:    []procReq{listen4, ignore4},
		},
		{
			name: "overrun while waiting",
			respond: func(req Message) []fakeRecv {
				return []fakeRecv{{err: os.NewSyscallError("recvmsg", syscall.ENOBUFS)}}
			},
			err:  syscall.ENOBUFS,
			sent: []procReq{listen4, ignore4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newProcListenerFake(t, tt.respond)
			l, err := listenProc(context.Background(), c, &tt.cfg)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				var oe *OpError
				if !errors.As(err, &oe) || oe.Op != "listen-proc" {
					t.Fatalf("error = %#v, want a listen-proc *OpError", err)
				}
			} else {
				if err != nil {
					t.Fatalf("failed to listen: %v", err)
				}
				checkAck(t, l, f, tt.acked)
				if diff := cmp.Diff(tt.events, drain(t, l)); diff != "" {
					t.Errorf("unexpected events (-want +got):\n%s", diff)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("failed to close: %v", err)
				}
			}
			if diff := cmp.Diff(tt.sent, f.requests(), cmp.AllowUnexported(procReq{})); diff != "" {
				t.Fatalf("unexpected requests (-want +got):\n%s", diff)
			}
		})
	}
}

// checkAck checks that l kept the ack of its LISTEN, if it waited.
func checkAck(t *testing.T, l *ProcListener, f *procFake, acked bool) {
	t.Helper()
	ack, ok := l.Ack()
	if ok != acked {
		t.Fatalf("Ack() ok = %v, want %v", ok, acked)
	}
	if !ok {
		return
	}
	req := f.sent[0]
	want := ProcEvent{What: ProcEventNone, CPU: 1, Timestamp: procTS, Seq: req.Seq + 999, Ack: req.Ack + 1,
		Data: ProcAck{}, Raw: make([]byte, 24)}
	if diff := cmp.Diff(want, ack); diff != "" {
		t.Fatalf("unexpected ack (-want +got):\n%s", diff)
	}
}

// drain returns the kinds of the events Next returns until none follow.
func drain(t *testing.T, l *ProcListener) []uint32 {
	t.Helper()
	var whats []uint32
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		ev, err := l.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return whats
		}
		if err != nil {
			t.Fatalf("failed to get the next event: %v", err)
		}
		whats = append(whats, ev.What)
	}
}

func TestProcListenerNext(t *testing.T) {
	c, f := newProcListenerFake(t, nil)
	l, err := listenProc(context.Background(), c, &ProcConfig{NoAck: true})
	if err != nil {
		t.Fatalf("failed to listen: %v", err)
	}
	defer l.Close()

	// A 36-byte proc_event, framed correctly.
	short := procWire(ProcEventExec, 0, procTS, 2, 0)[:wireProcLen-4]
	binary.NativeEndian.PutUint32(short[0:], wireProcLen-4)
	binary.NativeEndian.PutUint16(short[32:], ProcEventLen-4)

	f.push(
		// hello is not from cn_proc: skipped.
		dgram(kernelDatagram(t, hello).b, procWire(ProcEventFork, 0, procTS, 1, 0)),
		fakeRecv{err: os.NewSyscallError("recvmsg", syscall.ENOBUFS)},
		dgram(short),
		dgram(procWire(ProcEventExit, 0, procTS, 3, 0)),
	)

	want := []struct {
		what uint32
		err  error
	}{
		{what: ProcEventFork},
		{err: syscall.ENOBUFS},
		{err: errShortProcEvent},
		{what: ProcEventExit},
	}
	for i, w := range want {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ev, err := l.Next(ctx)
		cancel()
		if w.err != nil {
			if !errors.Is(err, w.err) {
				t.Fatalf("Next #%d: error = %v, want %v", i, err, w.err)
			}
			continue
		}
		if err != nil || ev.What != w.what {
			t.Fatalf("Next #%d = What %#x, %v; want %#x, nil", i, ev.What, err, w.what)
		}
	}
}

func TestProcListenerIgnoreOnce(t *testing.T) {
	c, f := newProcListenerFake(t, nil)
	l, err := listenProc(context.Background(), c, &ProcConfig{NoAck: true})
	if err != nil {
		t.Fatalf("failed to listen: %v", err)
	}
	// A second IGNORE would underflow the global count before 6.6.
	for range 2 {
		if err := l.Ignore(); err != nil {
			t.Fatalf("failed to ignore: %v", err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("failed to close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if diff := cmp.Diff([]procReq{listen4, ignore4}, f.requests(), cmp.AllowUnexported(procReq{})); diff != "" {
		t.Fatalf("unexpected requests (-want +got):\n%s", diff)
	}
}

func TestListenProcCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := ListenProc(ctx, nil)
	if !errors.Is(err, context.Canceled) || l != nil {
		t.Fatalf("ListenProc = %v, %v; want nil, context.Canceled", l, err)
	}
}

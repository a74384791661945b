// SPDX-License-Identifier: MIT

package connector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"
)

// defaultProcAckTimeout bounds the wait for a LISTEN ack when
// ProcConfig.AckTimeout is 0. The kernel sends the ack inside the sender's
// sendmsg (docs/connector.md §2.4), so it is generous even under QEMU TCG.
const defaultProcAckTimeout = 5 * time.Second

// ProcConfig configures ListenProc. A nil *ProcConfig listens for all
// events and waits for the ack.
type ProcConfig struct {
	// Events, if not 0, is a filter, an OR of ProcEvent* bits, sent in the
	// 8-byte form of ProcFilterRequest. Kernels before 6.6 ignore that
	// form: the socket gets no ack and no events of its own, only those
	// another listener turned on (docs/connector.md §5.3). 0 sends the 4-byte
	// LISTEN that every kernel accepts.
	Events uint32

	// NoAck makes ListenProc return without waiting for the ack. ListenProc
	// never waits when Events is a filter other than ProcEventAll: no
	// kernel acks such a request (§5.2).
	NoAck bool

	// AckTimeout bounds the wait for the ack, as ctx does; 0 means 5s.
	AckTimeout time.Duration

	// Conn configures the socket; nil is the zero Config. Its Groups are
	// ignored: the listener joins ProcGroup only.
	Conn *Config
}

// A ProcListener receives cn_proc events on a Conn that joined ProcGroup
// and sent LISTEN. Close sends the matching IGNORE.
//
// Next must not be called concurrently with itself; Close may be called
// at any time, and ends a pending Next.
type ProcListener struct {
	c *Conn

	// ignore is the IGNORE that balances the LISTEN, nil when the kernel
	// refused the LISTEN or the IGNORE has been sent.
	mu     sync.Mutex
	ignore *Message

	ack   ProcEvent
	acked bool

	// pending holds what arrived with or before the ack, and the rest of
	// a datagram Next has begun.
	pending []ProcEvent

	closeOnce sync.Once
	closeErr  error
}

// ListenProc dials a Conn, joins ProcGroup, sends LISTEN and, unless cfg
// says otherwise, waits for the kernel's ack.
//
// The ack is recognised by its Ack, the request's Ack plus 1, and What
// ProcEventNone, not by Seq, which the kernel overwrites (docs/connector.md
// §5.2). A request picks its Ack at random: every listener sees every ack.
// An ack with a non-zero error fails ListenProc with an error wrapping the
// syscall.Errno, such as EPERM before 6.6 without CAP_NET_ADMIN (§3.1).
//
// No ack arrives when the kernel ignores the request (from a user or pid
// namespace other than the initial ones), before 6.6 when the global
// listener count is below 1 after the LISTEN (§5.3), or for a filter
// request before 6.6. ListenProc then fails with an error wrapping
// context.DeadlineExceeded, after sending IGNORE to undo a LISTEN the
// kernel may have counted.
//
// Joining ProcGroup needs CAP_NET_ADMIN before 6.6; the dial then fails
// with an error wrapping EPERM.
func ListenProc(ctx context.Context, cfg *ProcConfig) (*ProcListener, error) {
	if cfg == nil {
		cfg = &ProcConfig{}
	}
	if err := ctx.Err(); err != nil {
		return nil, newOpError("listen-proc", err)
	}

	var ccfg Config
	if cfg.Conn != nil {
		ccfg = *cfg.Conn
	}
	ccfg.Groups = []uint32{ProcGroup}
	c, err := Dial(&ccfg)
	if err != nil {
		return nil, err
	}
	l, err := listenProc(ctx, c, cfg)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return l, nil
}

// listenProc sends LISTEN on c, which has joined ProcGroup, and waits for
// the ack as cfg asks. On failure it leaves c open, with the LISTEN undone.
func listenProc(ctx context.Context, c *Conn, cfg *ProcConfig) (*ProcListener, error) {
	ack := rand.Uint32()
	listen, ignore := ProcListenRequest(ack, ack), ProcIgnoreRequest(ack+1, ack+1)
	if cfg.Events != 0 {
		// IGNORE has the same form, so that a kernel before 6.6 ignores
		// both and its global count stays balanced.
		listen = ProcFilterRequest(ProcListen, cfg.Events, ack, ack)
		ignore = ProcFilterRequest(ProcIgnore, cfg.Events, ack+1, ack+1)
	}

	l := &ProcListener{c: c, ignore: &ignore}
	if err := c.Send(listen); err != nil {
		return nil, err
	}
	if cfg.NoAck || !procAcked(cfg.Events) {
		return l, nil
	}

	timeout := cfg.AckTimeout
	if timeout <= 0 {
		timeout = defaultProcAckTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := l.awaitAck(actx, listen.Ack+1); err != nil {
		_ = l.Ignore()
		return nil, err
	}
	return l, nil
}

// procAcked reports whether a 6.6+ kernel acks a LISTEN with this filter:
// it widens 0 to PROC_EVENT_ALL, masks with it, and acks only sockets whose
// filter is then exactly PROC_EVENT_ALL (cn_proc_mcast_ctl, cn_filter).
func procAcked(events uint32) bool {
	events &= ProcEventAll
	return events == 0 || events == ProcEventAll
}

// awaitAck reads until the ack with the given Ack arrives, keeping the
// events before it for Next.
func (l *ProcListener) awaitAck(ctx context.Context, ack uint32) error {
	for {
		rs, err := l.c.ReceiveFrom(ctx)
		if err != nil {
			return newOpError("listen-proc", fmt.Errorf("waiting for the ack: %w", err))
		}
		for i, r := range rs {
			ev, ok, err := procEventOf(r.Message)
			if err != nil {
				return newOpError("listen-proc", err)
			}
			if !ok {
				continue
			}
			if ev.What != ProcEventNone || ev.Ack != ack {
				l.pending = append(l.pending, ev)
				continue
			}
			if a, _ := ev.Data.(ProcAck); a.Err != 0 {
				l.ignore = nil // nothing was counted
				return newOpError("listen-proc", fmt.Errorf("kernel refused LISTEN: %w", syscall.Errno(a.Err)))
			}
			l.ack, l.acked = ev, true
			// The rest of the datagram came after the ack.
			return l.queue(rs[i+1:])
		}
	}
}

// queue appends the cn_proc events among rs to pending.
func (l *ProcListener) queue(rs []Received) error {
	for _, r := range rs {
		ev, ok, err := procEventOf(r.Message)
		if err != nil {
			return newOpError("parse-proc-event", err)
		}
		if ok {
			l.pending = append(l.pending, ev)
		}
	}
	return nil
}

// procEventOf parses m if it is from cn_proc; ok is false for any other ID.
func procEventOf(m Message) (ev ProcEvent, ok bool, err error) {
	if m.ID != ProcID {
		return ProcEvent{}, false, nil
	}
	ev, err = ParseProcEvent(m)
	return ev, err == nil, err
}

// Ack returns the ack ListenProc waited for, with ok false if it did not
// wait.
func (l *ProcListener) Ack() (ev ProcEvent, ok bool) { return l.ack, l.acked }

// Next returns the next cn_proc event, in arrival order: events of every
// process, and the acks of every listener's requests (What ProcEventNone).
// It skips messages of other IDs.
//
// An error wrapping ENOBUFS means the socket overran and events were lost
// (docs/connector.md §2.5); Next can be called again.
func (l *ProcListener) Next(ctx context.Context) (ProcEvent, error) {
	for len(l.pending) == 0 {
		rs, err := l.c.ReceiveFrom(ctx)
		if err != nil {
			return ProcEvent{}, err
		}
		if err := l.queue(rs); err != nil {
			return ProcEvent{}, err
		}
	}
	ev := l.pending[0]
	l.pending = l.pending[1:]
	return ev, nil
}

// Conn returns the listener's Conn, for its PortID and Stats, or to send
// further requests. Receiving from it takes events from Next. The listener
// does not see what is sent on it: send IGNORE through Ignore, or Close
// sends a second one, which before 6.6 drives the global count down twice.
func (l *ProcListener) Conn() *Conn { return l.c }

// Ignore sends IGNORE, in the form of the LISTEN, unless it has been sent.
// The socket stays open and in ProcGroup: from 6.6 it gets no more events,
// but before 6.6 it does, as long as anyone listens (docs/connector.md §5.3).
func (l *ProcListener) Ignore() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ignore == nil {
		return nil
	}
	if err := l.c.Send(*l.ignore); err != nil {
		return err
	}
	l.ignore = nil
	return nil
}

// Close sends IGNORE, as Ignore does, and closes the socket.
//
// The kernel does not undo a LISTEN when a socket closes, on any version
// (docs/connector.md §5.3). Before 6.6 the listener count is global: a socket
// closed without IGNORE keeps cn_proc sending events to every group
// member, and an IGNORE without a LISTEN drives the count below zero,
// silencing cn_proc for everyone until as many LISTENs follow. From 6.6 on
// the state is per socket: IGNORE stops this socket's events and a
// repeated one is not counted again.
func (l *ProcListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = errors.Join(l.Ignore(), l.c.Close())
	})
	return l.closeErr
}

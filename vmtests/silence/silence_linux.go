// SPDX-License-Identifier: MIT

package silence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"golang.org/x/sys/unix"
)

// ControlWindow is how long Control listens for a late message: the 300
// ms that docs/connector.md asks a silence window for under TCG, longer
// than the 200 ms after which the fault module's late id replies by
// default, so the self-test's plant is caught.
const ControlWindow = 300 * time.Millisecond

// Queued reports whether a datagram waits on c's socket now, without
// taking it and without waiting. A pending socket error (ENOBUFS after an
// overrun) is returned, and the kernel clears it as for any receive.
func Queued(c *connector.Conn) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	var rerr error
	buf := make([]byte, 16)
	if err := rc.Control(func(fd uintptr) {
		for {
			_, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	switch {
	case rerr == nil:
		return true, nil
	case errors.Is(rerr, unix.EAGAIN):
		return false, nil
	}
	return false, fmt.Errorf("peeking at the receive queue: %w", rerr)
}

// Sentinel is the message Prove sends to the echo id.
func Sentinel(echo connector.ID) connector.Message {
	return connector.Message{ID: echo, Seq: 0x5e47_1e1, Ack: 0x51e7, Data: []byte("sentinel")}
}

// Prove returns nil if nothing is queued on c now and the echo of a
// sentinel sent to echo (an id that answers with ack + 1, as cn_echo's
// echo id does) is the next message c receives. ctx bounds the wait for
// the sentinel's echo.
func Prove(ctx context.Context, c *connector.Conn, echo connector.ID) error {
	queued, err := Queued(c)
	if err != nil {
		return err
	}
	if queued {
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			return fmt.Errorf("a datagram was queued right after the send; reading it: %w", err)
		}
		return fmt.Errorf("%d message(s) were queued right after the send, first: %s", len(rs), describe(rs))
	}
	s := Sentinel(echo)
	if err := c.Send(s); err != nil {
		return fmt.Errorf("sending the sentinel to %v: %w", echo, err)
	}
	rs, err := c.ReceiveFrom(ctx)
	if err != nil {
		return fmt.Errorf("waiting for the sentinel's echo: %w", err)
	}
	want := s
	want.Ack++
	if len(rs) != 1 || !same(rs[0].Message, want) {
		return fmt.Errorf("the next message is not the sentinel's echo but %s", describe(rs))
	}
	return nil
}

// LateError is a message that arrived after the send that caused it had
// returned: a reply the silence proofs would not wait for.
type LateError struct {
	Sent   connector.Message
	Queued int           // messages queued when the send returned
	After  time.Duration // from the send's return to the late message
	Got    []connector.Received
}

func (e *LateError) Error() string {
	return fmt.Sprintf("late message: %s arrived %v after the send to %v returned (with %d message(s) queued at that point); "+
		"a reply that comes after sendmsg has returned is one the sentinel checks would miss",
		describe(e.Got), e.After.Round(time.Millisecond), e.Sent.ID, e.Queued)
}

// Control sends m on c and returns the messages queued on c when the send
// has returned. It then listens for window; a message arriving in it is a
// *LateError. ctx must outlast the window.
func Control(ctx context.Context, c *connector.Conn, m connector.Message, window time.Duration) ([]connector.Received, error) {
	if err := c.Send(m); err != nil {
		return nil, fmt.Errorf("sending to %v: %w", m.ID, err)
	}
	sent := time.Now()
	var queued []connector.Received
	for {
		q, err := Queued(c)
		if err != nil {
			return queued, err
		}
		if !q {
			break
		}
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			return queued, fmt.Errorf("reading what the send queued: %w", err)
		}
		queued = append(queued, rs...)
	}
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	rs, err := c.ReceiveFrom(wctx)
	if err == nil {
		return queued, &LateError{Sent: m, Queued: len(queued), After: time.Since(sent), Got: rs}
	}
	if wctx.Err() == nil || ctx.Err() != nil {
		return queued, fmt.Errorf("listening for late messages: %w", err)
	}
	return queued, nil
}

func same(a, b connector.Message) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.Ack == b.Ack && a.Flags == b.Flags && string(a.Data) == string(b.Data)
}

func describe(rs []connector.Received) string {
	if len(rs) == 0 {
		return "no message"
	}
	m := rs[0].Message
	s := fmt.Sprintf("%v seq %d ack %d len %d", m.ID, m.Seq, m.Ack, len(m.Data))
	if len(rs) > 1 {
		s += fmt.Sprintf(" (and %d more in the datagram)", len(rs)-1)
	}
	return s
}

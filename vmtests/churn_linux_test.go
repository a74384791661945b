// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"golang.org/x/sys/unix"
)

// TestEchoUnderProcChurn checks the echo rows T1 and T2 while the
// connector carries other traffic: a goroutine forks and execs
// short-lived children, and a cn_proc listener keeps cn_proc multicasting
// their FORK, EXEC and EXIT events on the same netlink family. The echo
// sockets must get exactly their own replies, in order.
//
// A child costs a start of the test binary, which on a one-vCPU guest
// takes the CPU from the echoes; so the goroutine spawns minChildren, one
// after the other, while the echoes run, instead of spawning until they
// are done.
func TestEchoUnderProcChurn(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	procCountGuard(t, ids, expect(t))

	l := listenProc(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	churnCtx, stopChurn := context.WithCancel(ctx)
	defer stopChurn()

	var (
		wg                  sync.WaitGroup
		spawned, execsSeen  atomic.Int64
		churnErr, listenErr error
		execs, overruns     int64
	)
	const minChildren = 2
	spawnDone := make(chan struct{})
	wg.Go(func() {
		defer close(spawnDone)
		for spawned.Load() < minChildren && churnCtx.Err() == nil {
			cmd, err := newHelperCmd(churnCtx, "exit", 0)
			if err == nil {
				err = cmd.Run()
			}
			if err != nil && churnCtx.Err() == nil {
				churnErr = err
				return
			}
			spawned.Add(1)
		}
	})
	wg.Go(func() {
		for {
			ev, err := l.Next(churnCtx)
			switch {
			case errors.Is(err, unix.ENOBUFS):
				overruns++ // events are lost, which is the listener's problem only
			case err != nil:
				if churnCtx.Err() == nil {
					listenErr = err
				}
				return
			case ev.What == connector.ProcEventExec:
				execs++
				execsSeen.Add(1)
			}
		}
	})

	// T1, and T2's random seq/ack in windows, until at least 300 echoes
	// ran and the children are done, with an EXEC seen by the listener:
	// cn_proc traffic was on the family while the echoes ran. The children
	// are spawned while the first round runs; more rounds add time, not
	// overlap.
	c := dial(t, nil)
	for round := 0; ; round++ {
		req := connector.Message{ID: ids.echo, Seq: 1234, Ack: 5678, Flags: 0xABCD, Data: []byte("hello")}
		rctx, rcancel := context.WithTimeout(ctx, requestTimeout)
		got, err := c.Request(rctx, req)
		rcancel()
		if err != nil {
			t.Fatalf("round %d, T1 request: %v", round, err)
		}
		if got.Ack != 5679 || string(got.Data) != "hello" || got.Flags != 0xABCD {
			t.Fatalf("round %d, T1 reply %+v", round, got)
		}
		if err := echoClient(ctx, c, ids.echo, round, 100, 50); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		churned := false
		select {
		case <-spawnDone:
			churned = execsSeen.Load() > 0 || churnErr != nil
		default:
		}
		if (round+1)*100 >= 300 && churned {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after %d rounds: %d children spawned, %d EXEC events seen", round+1, spawned.Load(), execsSeen.Load())
		}
	}
	stopChurn()
	wg.Wait()

	t.Logf("%d children spawned, %d EXEC events seen, %d listener overruns", spawned.Load(), execs, overruns)
	if churnErr != nil {
		t.Errorf("spawning children: %v", churnErr)
	}
	if listenErr != nil {
		t.Errorf("cn_proc listener: %v", listenErr)
	}
	if execs == 0 {
		t.Errorf("the cn_proc listener saw no EXEC: there was no other connector traffic")
	}
	if c.Stats().Unmatched != 0 {
		t.Errorf("the echo socket discarded %d messages that were not its replies", c.Stats().Unmatched)
	}
}

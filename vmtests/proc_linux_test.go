// SPDX-License-Identifier: MIT

package vmtests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
)

// Helpers for the cn_proc rows T37–T42 (docs/connector.md §5).
//
// A test cannot tell from the cn_proc messages it gets whether others are
// on the way, except for one ordering fact: a connector callback runs
// inside the sender's sendmsg, and a multicast is queued on every member
// before netlink_broadcast returns (§2.4). So a marker sent through
// cn_echo's MULTICAST id to a socket that is also in cn_echo's group lands
// behind every ack of a request whose send has returned, and behind every
// event that a member of group 1 which joined before this socket has
// already received. procSocket.sync uses that to assert "no ack" and "not
// delivered to this socket" without waiting; only events whose time is
// unknown (a child's EXIT on a kernel that should not send it) need the
// silence window.
//
// "Joined before" matters on PREEMPT_RT. netlink_broadcast walks the
// group's members newest first (v6.1 net/netlink/af_netlink.c:
// netlink_update_subscriptions adds a socket with sk_add_bind_node, an
// hlist_add_head; netlink_broadcast walks mc_list with sk_for_each_bound),
// and on RT the walk can be preempted between two members: cn_proc's
// send_msg holds local_event.lock, a local_lock_t, which is a preemptible
// per-CPU spinlock there (include/linux/local_lock_internal.h), and
// netlink_lock_table only counts users. So an event that an older member
// has received has reached the newer ones, but not always the reverse.

// procSocket is a connector socket in cn_echo's group and, if it joined,
// in cn_proc's group 1.
type procSocket struct {
	c      *connector.Conn
	ids    moduleIDs
	marker uint32
}

func newProcSocket(tb testing.TB, ids moduleIDs, joinProc bool) *procSocket {
	tb.Helper()
	groups := []uint32{ids.group}
	if joinProc {
		groups = append(groups, connector.ProcGroup)
	}
	return &procSocket{c: dial(tb, &connector.Config{Groups: groups}), ids: ids, marker: rand.Uint32()}
}

func (s *procSocket) send(tb testing.TB, m connector.Message) {
	tb.Helper()
	send(tb, s.c, m)
}

// request sends a LISTEN or IGNORE with ack a (and seq a) in the 4-byte
// form and registers nothing: the caller balances what it sends.
func (s *procSocket) request(tb testing.TB, op, a uint32) {
	tb.Helper()
	s.send(tb, procOp(op, a))
}

func procOp(op, a uint32) connector.Message {
	if op == connector.ProcListen {
		return connector.ProcListenRequest(a, a)
	}
	return connector.ProcIgnoreRequest(a, a)
}

// listen sends LISTEN now and IGNORE when the test ends, so that the
// listener count is balanced whatever happens in between.
func (s *procSocket) listen(tb testing.TB) (ack uint32) {
	tb.Helper()
	ack = rand.Uint32()
	s.request(tb, connector.ProcListen, ack)
	tb.Cleanup(func() { _ = s.c.Send(procOp(connector.ProcIgnore, ack+1)) })
	return ack
}

// sync returns the cn_proc messages the socket received before a marker
// sent now. See the comment at the top of the file.
func (s *procSocket) sync(tb testing.TB) []connector.ProcEvent {
	tb.Helper()
	evs, err := s.syncErr(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func (s *procSocket) syncErr(ctx context.Context) ([]connector.ProcEvent, error) {
	s.marker++
	if err := s.c.Send(connector.Message{ID: s.ids.multicast, Seq: s.marker, Ack: 0x5c}); err != nil {
		return nil, fmt.Errorf("sending marker: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var evs []connector.ProcEvent
	for {
		rs, err := s.c.ReceiveFrom(ctx)
		if err != nil {
			return evs, fmt.Errorf("waiting for marker %d after %d cn_proc messages: %w", s.marker, len(evs), err)
		}
		for _, r := range rs {
			switch r.ID {
			case connector.ProcID:
				ev, err := connector.ParseProcEvent(r.Message)
				if err != nil {
					return evs, err
				}
				evs = append(evs, ev)
			case s.ids.multicast:
				// Another socket's marker passes by; ours ends the wait.
				if r.Seq == s.marker {
					return evs, nil
				}
			default:
				return evs, fmt.Errorf("unexpected message for %v: %+v", r.ID, r.Message)
			}
		}
	}
}

// ackOf finds the ack of the request that had ack a: cn_proc answers with
// ack a+1 and overwrites seq (docs/connector.md §5.2).
func ackOf(evs []connector.ProcEvent, a uint32) (connector.ProcEvent, bool) {
	for _, ev := range evs {
		if ev.What == connector.ProcEventNone && ev.Ack == a+1 {
			return ev, true
		}
	}
	return connector.ProcEvent{}, false
}

func ackErr(ev connector.ProcEvent) uint32 {
	a, _ := ev.Data.(connector.ProcAck)
	return a.Err
}

// childEvents are the events about one child process: its creation (not
// its threads'), its exec and its exit (not its threads').
type childEvents struct {
	Fork []connector.ProcFork
	Exec []connector.ProcExec
	Exit []connector.ProcExit
}

func (v *childEvents) add(ev connector.ProcEvent, pid int) {
	p := int32(pid)
	switch d := ev.Data.(type) {
	case connector.ProcFork:
		if d.ChildTGID == p && d.ChildPID == p {
			v.Fork = append(v.Fork, d)
		}
	case connector.ProcExec:
		if d.TGID == p {
			v.Exec = append(v.Exec, d)
		}
	case connector.ProcExit:
		if d.TGID == p && d.PID == p {
			v.Exit = append(v.Exit, d)
		}
	}
}

func childOf(evs []connector.ProcEvent, pid int) childEvents {
	var v childEvents
	for _, ev := range evs {
		v.add(ev, pid)
	}
	return v
}

func (v childEvents) complete() bool { return len(v.Fork) > 0 && len(v.Exec) > 0 && len(v.Exit) > 0 }
func (v childEvents) none() bool     { return len(v.Fork)+len(v.Exec)+len(v.Exit) == 0 }

// awaitChildFrom reads c until FORK, EXEC and EXIT of pid have arrived,
// counting those in v as arrived. The EXIT is sent after exit_notify, so
// it may come after wait4 returned (docs/connector.md §5.4).
func awaitChildFrom(ctx context.Context, c *connector.Conn, pid int, v childEvents) (childEvents, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	for !v.complete() {
		rs, err := c.ReceiveFrom(ctx)
		if err != nil {
			return v, fmt.Errorf("waiting for the events of child %d (so far %+v): %w", pid, v, err)
		}
		for _, r := range rs {
			if r.ID != connector.ProcID {
				continue
			}
			ev, err := connector.ParseProcEvent(r.Message)
			if err != nil {
				return v, err
			}
			v.add(ev, pid)
		}
	}
	return v, nil
}

// awaitChildOn is awaitChildFrom through a ProcListener; it also returns
// every event it read.
func awaitChildOn(tb testing.TB, l *connector.ProcListener, pid int) (childEvents, []connector.ProcEvent) {
	tb.Helper()
	vs, all := awaitChildrenOn(tb, l, pid)
	return vs[pid], all
}

// awaitChildrenOn reads l until FORK, EXEC and EXIT of every pid have
// arrived, and returns them by pid with every event it read. Children
// spawned one after another must be awaited together, in one pass over the
// stream: a child's EXIT is not ordered before its successor's FORK. The
// exiting task sends it after exit_notify has let the parent reap it (v6.1
// kernel/exit.c do_exit: exit_notify, then proc_exit_connector), and where
// kernel code is preemptible (PREEMPT_RT) the parent can run in that gap,
// fork the next child and send its FORK first; a read that stopped at the
// first child's EXIT would have consumed the second one's FORK.
func awaitChildrenOn(tb testing.TB, l *connector.ProcListener, pids ...int) (map[int]childEvents, []connector.ProcEvent) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
	defer cancel()
	vs := make(map[int]childEvents, len(pids))
	complete := func() bool {
		for _, pid := range pids {
			if !vs[pid].complete() {
				return false
			}
		}
		return true
	}
	var all []connector.ProcEvent
	for !complete() {
		ev, err := l.Next(ctx)
		if err != nil {
			tb.Fatalf("waiting for the events of children %v (so far %+v): %v", pids, vs, err)
		}
		all = append(all, ev)
		for _, pid := range pids {
			v := vs[pid]
			v.add(ev, pid)
			vs[pid] = v
		}
	}
	return vs, all
}

// exitForkOrder says whether, in evs, the EXIT of child first came before
// or after the FORK of child second, which was spawned after first was
// reaped. Either is right (awaitChildrenOn); the tests log it.
func exitForkOrder(evs []connector.ProcEvent, first, second int) string {
	exit, fork := -1, -1
	for i, ev := range evs {
		switch d := ev.Data.(type) {
		case connector.ProcExit:
			if d.PID == int32(first) && d.TGID == int32(first) && exit < 0 {
				exit = i
			}
		case connector.ProcFork:
			if d.ChildPID == int32(second) && d.ChildTGID == int32(second) && fork < 0 {
				fork = i
			}
		}
	}
	switch {
	case exit < 0 || fork < 0:
		return fmt.Sprintf("EXIT of %d at %d, FORK of %d at %d", first, exit, second, fork)
	case exit < fork:
		return fmt.Sprintf("EXIT of %d came before FORK of %d", first, second)
	default:
		return fmt.Sprintf("FORK of %d came before EXIT of %d, which was reaped first", second, first)
	}
}

// checkChild checks the events of a child of this process that exited
// with code: one of each, wait-status 0x300 for exit(3), SIGCHLD.
func checkChild(tb testing.TB, v childEvents, pid, code int) {
	tb.Helper()
	if len(v.Fork) != 1 || len(v.Exec) != 1 || len(v.Exit) != 1 {
		tb.Fatalf("child %d: %d FORK, %d EXEC, %d EXIT events, want one of each: %+v", pid, len(v.Fork), len(v.Exec), len(v.Exit), v)
	}
	self := int32(os.Getpid())
	if v.Fork[0].ParentTGID != self {
		tb.Errorf("FORK of %d has parent tgid %d, want %d", pid, v.Fork[0].ParentTGID, self)
	}
	// proc_exit_connector runs after exit_notify: if this process has
	// reaped the child by then, pid_alive() is false and the parent
	// fields stay 0. Either is right; which one is a race.
	got := v.Exit[0]
	want := connector.ProcExit{PID: int32(pid), TGID: int32(pid), ExitCode: uint32(code) << 8, ExitSignal: 17}
	if got.ParentTGID != 0 || got.ParentPID != 0 {
		want.ParentPID, want.ParentTGID = got.ParentPID, self
	}
	if got != want {
		tb.Errorf("EXIT of %d: %+v, want %+v", pid, got, want)
	}
}

// listenProc is connector.ListenProc for a test: the listener sends its
// IGNORE and closes when the test ends.
func listenProc(tb testing.TB, cfg *connector.ProcConfig) *connector.ProcListener {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), requestTimeout)
	defer cancel()
	l, err := connector.ListenProc(ctx, cfg)
	if err != nil {
		tb.Fatalf("listening to cn_proc: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// procCountGuard makes a cn_proc test independent of what ran before it
// on kernels before 6.6, where LISTEN and IGNORE only move the global
// proc_event_num_listeners and an unbalanced IGNORE silences cn_proc for
// everyone (T41). It measures the count, sets it to 0 for the test, and
// when the test ends checks that the test left it at 0 and puts back what
// it found (never below 0). A count found below 0 is an error: some
// earlier test sent an IGNORE it did not owe. From 6.6 a socket counts at
// most once and the count cannot go below 0, so there is nothing to do.
func procCountGuard(tb testing.TB, ids moduleIDs, b kernelBehaviour) {
	tb.Helper()
	if !b.ProcCounterUnderflow {
		return
	}
	found, err := measureProcCount(tb.Context(), ids)
	if err != nil {
		tb.Fatalf("measuring cn_proc's listener count: %v", err)
	}
	tb.Logf("cn_proc listener count was %d; set to 0 for this test", found)
	if found < 0 {
		tb.Errorf("cn_proc listener count was %d: an earlier test left it below 0", found)
	}
	tb.Cleanup(func() {
		left, err := measureProcCount(context.Background(), ids)
		if err != nil {
			tb.Errorf("measuring cn_proc's listener count after the test: %v", err)
			return
		}
		if left != 0 {
			tb.Errorf("the test left cn_proc's listener count at %d, want 0", left)
		}
		if err := setProcCount(max(found, 0)); err != nil {
			tb.Errorf("restoring cn_proc's listener count to %d: %v", found, err)
		}
	})
}

// measureProcCount returns the global listener count of a kernel before
// 6.6 and leaves it at 0. The kernel acks a LISTEN or IGNORE only when the
// count is at least 1 afterwards, so: LISTEN until one is acked (k
// unacked ones mean the count was -k, and is now 1), then IGNORE until one
// is not acked (j acked ones mean the count was j, and is now 0).
func measureProcCount(ctx context.Context, ids moduleIDs) (int, error) {
	obs, err := connector.Dial(&connector.Config{Groups: []uint32{ids.group, connector.ProcGroup}})
	if err != nil {
		return 0, err
	}
	defer obs.Close()
	drv, err := connector.Dial(nil)
	if err != nil {
		return 0, err
	}
	defer drv.Close()
	ps := &procSocket{c: obs, ids: ids, marker: rand.Uint32()}
	acked := func(op uint32) (bool, error) {
		a := rand.Uint32()
		if err := drv.Send(procOp(op, a)); err != nil {
			return false, err
		}
		evs, err := ps.syncErr(ctx)
		_, ok := ackOf(evs, a)
		return ok, err
	}

	const limit = 64
	for k := 0; k < limit; k++ {
		ok, err := acked(connector.ProcListen)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		if k > 0 {
			_, err := acked(connector.ProcIgnore)
			return -k, err
		}
		for j := 0; j < limit; j++ {
			ok, err := acked(connector.ProcIgnore)
			if err != nil || !ok {
				return j, err
			}
		}
		return 0, fmt.Errorf("more than %d IGNOREs acked", limit)
	}
	return 0, fmt.Errorf("no LISTEN acked after %d", limit)
}

// setProcCount raises a count of 0 to n with n LISTENs.
func setProcCount(n int) error {
	c, err := connector.Dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		if err := c.Send(procOp(connector.ProcListen, rand.Uint32())); err != nil {
			return err
		}
	}
	return nil
}

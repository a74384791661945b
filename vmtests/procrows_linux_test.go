// SPDX-License-Identifier: MIT

package vmtests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
	"golang.org/x/sys/unix"
)

// The cn_proc rows, T37–T42, and the sk_user_data leak of docs/connector.md §6
// item 19. Every test starts with procCountGuard, so none depends on the
// order the tests run in (see T41). Events are those of children this
// test spawns, picked out by pid: the guest's other processes, the test
// binary's own threads included, produce events too.

// T37: LISTEN as root is acked: ack = request ack + 1, error 0, but seq
// is cn_proc's per-CPU counter, not the request's; the unused bytes of the
// ack are zero. Then a child's FORK, EXEC and EXIT arrive, the EXIT with
// wait status 0x300 for exit(3) and exit signal SIGCHLD.
func TestProcListen(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	procCountGuard(t, ids, expect(t))

	t.Run("socket", func(t *testing.T) {
		s := newProcSocket(t, ids, true)
		const seq = 0x3737_3737
		a := rand.Uint32()
		s.send(t, connector.ProcListenRequest(seq, a))
		t.Cleanup(func() { _ = s.c.Send(connector.ProcIgnoreRequest(seq+1, a+1)) })

		ack, ok := ackOf(s.sync(t), a)
		if !ok {
			t.Fatalf("no ack for LISTEN (ack %#x)", a)
		}
		if ack.Seq == seq {
			t.Errorf("ack seq %#x is the request's; cn_proc's send_msg overwrites it", ack.Seq)
		}
		if !bytes.Equal(ack.Raw, make([]byte, 24)) {
			t.Errorf("ack event_data %x, want 24 zero bytes (err 0, the rest zeroed)", ack.Raw)
		}

		pid := spawnExit(t, 3)
		v, err := awaitChildFrom(t.Context(), s.c, pid, childEvents{})
		if err != nil {
			t.Fatal(err)
		}
		checkChild(t, v, pid, 3)
	})

	t.Run("ProcListener", func(t *testing.T) {
		l := listenProc(t, nil)
		ack, ok := l.Ack()
		if !ok || ackErr(ack) != 0 {
			t.Fatalf("ListenProc ack %+v (waited: %v), want error 0", ack, ok)
		}
		pid := spawnExit(t, 3)
		v, _ := awaitChildOn(t, l, pid)
		checkChild(t, v, pid, 3)
	})
}

// procUnprivArgs and procUnprivResult are helperProcUnpriv's input and
// output.
type procUnprivArgs struct{ Ack uint32 }

type procUnprivResult struct {
	UID    int
	Join   syscall.Errno // joining group 1
	AckErr *uint32       // its own LISTEN's ack, if it could see it
	Child  int
	Events childEvents // of its child, if it could listen
	Err    string
}

// helperProcUnpriv joins group 1 if it may, sends LISTEN with ack Ack,
// and, if it is in the group, waits for its ack and the events of a child
// of its own; then it sends IGNORE.
func helperProcUnpriv(ctx context.Context, raw json.RawMessage) (any, error) {
	var a procUnprivArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	res := procUnprivResult{UID: os.Getuid()}
	c, err := connector.Dial(&connector.Config{Groups: []uint32{connector.ProcGroup}})
	if err != nil {
		res.Join = errnoOf(err)
		if c, err = connector.Dial(nil); err != nil {
			return nil, err
		}
	}
	defer c.Close()
	if err := c.Send(procOp(connector.ProcListen, a.Ack)); err != nil {
		return nil, err
	}
	defer c.Send(procOp(connector.ProcIgnore, a.Ack+1))
	if res.Join != 0 {
		return res, nil
	}

	actx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	for res.AckErr == nil {
		rs, err := c.ReceiveFrom(actx)
		if err != nil {
			res.Err = "waiting for the ack: " + err.Error()
			return res, nil
		}
		for _, r := range rs {
			if ev, err := connector.ParseProcEvent(r.Message); err == nil && ev.What == connector.ProcEventNone && ev.Ack == a.Ack+1 {
				e := ackErr(ev)
				res.AckErr = &e
			}
		}
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), envHelper+"=exit", envHelperArgs+"=3")
	if err := cmd.Run(); err == nil {
		return nil, errors.New("child exited with 0, want 3")
	}
	res.Child = cmd.Process.Pid
	res.Events, err = awaitChildFrom(ctx, c, res.Child, childEvents{})
	if err != nil {
		res.Err = err.Error()
	}
	return res, nil
}

// T38: cn_proc for an unprivileged process. Before 6.6 joining group 1
// is EPERM and a LISTEN is refused with an ack carrying EPERM (1), seen by
// root's listeners; from 6.6 the join works, the ack says 0 and the events
// flow (kernelBehaviour.ProcUnprivileged).
func TestProcUnprivileged(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	procCountGuard(t, ids, b)

	// Root's listener, in group 1 and counted, so that acks are sent.
	obs := newProcSocket(t, ids, true)
	oa := obs.listen(t)
	if _, ok := ackOf(obs.sync(t), oa); !ok {
		t.Fatalf("no ack for root's LISTEN")
	}

	a := procUnprivArgs{Ack: rand.Uint32()}
	var res procUnprivResult
	runHelperProcess(t, "proc-unpriv", a, unprivileged(), &res)
	ownAck := "not seen"
	if res.AckErr != nil {
		ownAck = fmt.Sprint(*res.AckErr)
	}
	t.Logf("nobody: join group 1 %s, own ack error %s, child %d events %+v %s", errName(res.Join), ownAck, res.Child, res.Events, res.Err)
	if res.UID != 65534 {
		t.Fatalf("helper ran as uid %d, want 65534", res.UID)
	}

	wantJoin, wantAckErr := unix.EPERM, uint32(unix.EPERM)
	if b.ProcUnprivileged {
		wantJoin, wantAckErr = 0, 0
	}
	if res.Join != wantJoin {
		t.Errorf("nobody joining group 1: %v, want %v", errName(res.Join), errName(wantJoin))
	}
	ack, ok := ackOf(obs.sync(t), a.Ack)
	switch {
	case !ok:
		t.Errorf("root's listener saw no ack for nobody's LISTEN")
	case ackErr(ack) != wantAckErr:
		t.Errorf("root's listener saw nobody's LISTEN acked with error %d, want %d", ackErr(ack), wantAckErr)
	}
	if !b.ProcUnprivileged {
		return
	}
	if res.Err != "" {
		t.Fatalf("nobody's listener: %s", res.Err)
	}
	if res.AckErr == nil || *res.AckErr != 0 {
		t.Errorf("nobody's own ack error %v, want 0", res.AckErr)
	}
	if len(res.Events.Fork) != 1 || len(res.Events.Exec) != 1 || len(res.Events.Exit) != 1 || res.Events.Exit[0].ExitCode != 0x300 {
		t.Errorf("nobody's listener saw %+v of child %d, want one FORK, EXEC and EXIT (0x300)", res.Events, res.Child)
	}
}

// T39: LISTEN in the 8-byte form proc_input{LISTEN, NONZERO_EXIT}. Before
// 6.6 the kernel drops the request (no ack, no count) and the socket, in
// group 1, still gets every event another listener turns on. From 6.6 it
// is a filter: no ack reaches the socket (its filter is not
// PROC_EVENT_ALL) and of two children only the exit with a non-zero code
// does (kernelBehaviour.ProcFilter). B, a plain listener, sees everything
// on both; the filtered socket joined group 1 after B, so each
// netlink_broadcast reaches it before B, and what B has received is what
// the filtered socket was offered.
func TestProcFilterNonzeroExit(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	procCountGuard(t, ids, b)

	listener := listenProc(t, nil)
	s := newProcSocket(t, ids, true)
	a := rand.Uint32()
	s.send(t, connector.ProcFilterRequest(connector.ProcListen, connector.ProcEventNonzeroExit, a, a))
	t.Cleanup(func() {
		_ = s.c.Send(connector.ProcFilterRequest(connector.ProcIgnore, connector.ProcEventNonzeroExit, a+1, a+1))
	})
	if ack, ok := ackOf(s.sync(t), a); ok {
		t.Errorf("the filtered socket got an ack %+v", ack)
	}

	zero, five := spawnExit(t, 0), spawnExit(t, 5)
	_, all := awaitChildrenOn(t, listener, zero, five)
	t.Logf("listener: %s", exitForkOrder(all, zero, five))

	// s joined group 1 after the listener, so every event the listener
	// has is on s's queue too (see the top of proc_linux_test.go).
	evs := s.sync(t)
	gotZero, gotFive := childOf(evs, zero), childOf(evs, five)
	t.Logf("filtered socket: exit(0) child %+v, exit(5) child %+v", gotZero, gotFive)
	if b.ProcFilter {
		if !gotZero.none() {
			t.Errorf("the filter passed events of the exit(0) child: %+v", gotZero)
		}
		if len(gotFive.Fork)+len(gotFive.Exec) != 0 || len(gotFive.Exit) != 1 || gotFive.Exit[0].ExitCode != 0x500 {
			t.Errorf("the filter passed %+v of the exit(5) child, want its EXIT (0x500) only", gotFive)
		}
		return
	}
	if !gotZero.complete() || !gotFive.complete() {
		t.Errorf("without filters the socket should get all events: exit(0) child %+v, exit(5) child %+v", gotZero, gotFive)
	}
}

// T40: A and B listen, A sends IGNORE. Before 6.6 IGNORE only lowers the
// global count, so A, still in group 1, gets the IGNORE's ack and keeps
// getting events; from 6.6 A is filtered: no ack, no events; B goes on
// (kernelBehaviour.ProcIgnoreStopsSocket).
func TestProcIgnoreOneOfTwo(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	procCountGuard(t, ids, b)

	listenerB := listenProc(t, nil)
	sa := newProcSocket(t, ids, true)
	la := rand.Uint32()
	sa.request(t, connector.ProcListen, la)
	ia := la + 1
	sa.request(t, connector.ProcIgnore, ia)
	// A's LISTEN and IGNORE balance; B's Close sends B's IGNORE.

	evs := sa.sync(t)
	if _, ok := ackOf(evs, la); !ok {
		t.Errorf("A got no ack for its LISTEN")
	}
	_, gotIgnoreAck := ackOf(evs, ia)
	if want := !b.ProcIgnoreStopsSocket; gotIgnoreAck != want {
		t.Errorf("A got the ack of its IGNORE: %v, want %v", gotIgnoreAck, want)
	}

	pid := spawnExit(t, 3)
	v, all := awaitChildOn(t, listenerB, pid)
	checkChild(t, v, pid, 3)
	if _, ok := ackOf(all, ia); !ok {
		t.Errorf("B did not see the ack of A's IGNORE (an ack is a multicast to group 1)")
	}

	// A joined group 1 after B: what B has received, A was offered.
	gotA := childOf(sa.sync(t), pid)
	t.Logf("A after IGNORE: %+v", gotA)
	if b.ProcIgnoreStopsSocket && !gotA.none() && !gotA.complete() {
		t.Errorf("A got some events after its IGNORE: %+v", gotA)
	}
	bugIgnoreGlobal.pin(t, !b.ProcIgnoreStopsSocket, gotA.complete(),
		fmt.Sprintf("a socket still gets every event of a child after its own IGNORE (it is in group 1 and the count is positive): %+v", gotA))
}

// T41: IGNORE, IGNORE, then LISTEN from one socket, starting from a
// count of 0 as on a fresh boot. Before 6.6 each IGNORE decrements the
// global count: it ends at -1, so the LISTEN gets no ack and nobody gets
// events. From 6.6 a socket is counted on its transitions only, so the
// LISTEN is acked and events flow (kernelBehaviour.ProcCounterUnderflow).
//
// "Fresh boot" needs no boot of its own: procCountGuard measures the
// count before the test (LISTENs and IGNOREs and their acks tell it), sets
// it to 0, and puts it back afterwards; the test itself brings the count
// from -1 back to 0 before it ends. So T41 runs in any order and leaves
// nothing poisoned.
func TestProcIgnoreUnderflow(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	procCountGuard(t, ids, b)

	s := newProcSocket(t, ids, true)
	a := rand.Uint32()
	s.request(t, connector.ProcIgnore, a)
	s.request(t, connector.ProcIgnore, a+1)
	s.request(t, connector.ProcListen, a+2)
	if b.ProcCounterUnderflow {
		// The count is -1 now; this LISTEN, sent last, brings it back to
		// 0 for procCountGuard.
		t.Cleanup(func() { _ = s.c.Send(procOp(connector.ProcListen, a+3)) })
	} else {
		t.Cleanup(func() { _ = s.c.Send(procOp(connector.ProcIgnore, a+3)) })
	}

	evs := s.sync(t)
	for i, op := range []string{"IGNORE", "IGNORE"} {
		if ack, ok := ackOf(evs, a+uint32(i)); ok {
			t.Errorf("%s %d was acked: %+v (the count is below 1, and from 6.6 the socket ignores)", op, i+1, ack)
		}
	}
	ack, acked := ackOf(evs, a+2)
	if !bugProcUnderflow.pin(t, b.ProcCounterUnderflow, !acked,
		"a LISTEN after two IGNOREs from a count of 0 is not acked: the count went below 1") {
		t.FailNow()
	}
	if acked && ackErr(ack) != 0 {
		t.Errorf("LISTEN acked with error %d", ackErr(ack))
	}

	child := spawnHeld(t, 3)
	// FORK and EXEC were sent before the child said it was ready.
	early := s.sync(t)
	if err := child.exit(); err != nil {
		t.Fatalf("child: %v", err)
	}

	if !b.ProcCounterUnderflow {
		v, err := awaitChildFrom(t.Context(), s.c, child.pid(), childOf(early, child.pid()))
		if err != nil {
			t.Fatal(err)
		}
		checkChild(t, v, child.pid(), 3)
		return
	}
	if len(early) != 0 {
		t.Errorf("with the count at -1 the socket got %d cn_proc messages, first %+v", len(early), early[0])
	}
	// The EXIT has no sentinel to wait behind: the exiting task sends it
	// itself after exit_notify has let the parent reap it (v6.1
	// kernel/exit.c do_exit: exit_notify, then proc_exit_connector), and
	// nothing a test can see is ordered after that. One of the few
	// windowed checks left (README.md lists them).
	expectNoProc(t, s.c)
}

// expectNoProc asserts that no cn_proc message arrives for silenceWindow.
func expectNoProc(tb testing.TB, c *connector.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), silenceWindow)
	defer cancel()
	for {
		rs, err := c.ReceiveFrom(ctx)
		if isTimeout(err) {
			return
		}
		if err != nil {
			tb.Fatalf("waiting for silence: %v", err)
		}
		for _, r := range rs {
			if r.ID == connector.ProcID {
				ev, _ := connector.ParseProcEvent(r.Message)
				tb.Fatalf("a cn_proc message arrived with the count below 1: %+v", ev)
			}
		}
	}
}

// procRequestArgs and procRequestResult are helperProcRequest's input and
// output.
type procRequestArgs struct{ Ack uint32 }

type procRequestResult struct {
	PID     int // in its own pid namespace
	UID     int // in its own user namespace
	SendErr string
}

// helperProcRequest sends one LISTEN with ack Ack to cn_proc.
func helperProcRequest(_ context.Context, raw json.RawMessage) (any, error) {
	var a procRequestArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	c, err := connector.Dial(nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res := procRequestResult{PID: os.Getpid(), UID: os.Getuid()}
	if err := c.Send(procOp(connector.ProcListen, a.Ack)); err != nil {
		res.SendErr = err.Error()
	}
	return res, nil
}

// T42: cn_proc ignores requests from a task outside the initial pid or
// user namespace (cn_proc_mcast_ctl returns before anything): no ack, on
// every version. The control is the same request from the initial
// namespaces, which root's listener does see acked.
func TestProcRequestFromNamespace(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	procCountGuard(t, ids, expect(t))

	obs := newProcSocket(t, ids, true)
	oa := obs.listen(t)
	if _, ok := ackOf(obs.sync(t), oa); !ok {
		t.Fatalf("no ack for root's LISTEN")
	}

	tests := []struct {
		name    string
		attr    *syscall.SysProcAttr
		wantPID func(pid int) bool
		wantUID int
	}{
		{
			name:    "pid namespace",
			attr:    &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID},
			wantPID: func(pid int) bool { return pid == 1 },
			wantUID: 0,
		},
		{
			name:    "user namespace",
			attr:    inUserNS(0),
			wantPID: func(pid int) bool { return pid > 1 },
			wantUID: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := procRequestArgs{Ack: rand.Uint32()}
			var res procRequestResult
			runHelperProcess(t, "proc-request", a, tt.attr, &res)
			if !tt.wantPID(res.PID) || res.UID != tt.wantUID || res.SendErr != "" {
				t.Fatalf("helper: %+v", res)
			}
			if ack, ok := ackOf(obs.sync(t), a.Ack); ok {
				t.Errorf("a LISTEN from a %s was acked: %+v", tt.name, ack)
			}

			// The control: the same request from here is acked. Its
			// IGNORE keeps the count balanced.
			// In group 1, so that closing it frees cn_proc's state.
			ctl := dial(t, &connector.Config{Groups: []uint32{connector.ProcGroup}})
			send(t, ctl, procOp(connector.ProcListen, a.Ack))
			if _, ok := ackOf(obs.sync(t), a.Ack); !ok {
				t.Errorf("the control LISTEN from the initial namespaces was not acked")
			}
			send(t, ctl, procOp(connector.ProcIgnore, a.Ack+1))
		})
	}
}

// The sk_user_data leak of docs/connector.md §6 item 19 (6.6 to 7.3, unfixed):
// a LISTEN from a socket that is not in group 1 is accepted and makes
// cn_proc allocate the socket's 8-byte proc_input, but cn_release frees it
// only for sockets in group 1, so closing the socket leaks it.
//
// kmemleak would name the leak, but Debian's kernels are built without
// CONFIG_DEBUG_KMEMLEAK. The test therefore counts it: N sockets outside
// group 1 that LISTEN, IGNORE and close must leave N more objects in the
// 8-byte kmalloc caches than N sockets that only open and close, on
// kernels with the leak, and about as many on kernels without. Where
// /sys/kernel/debug/kmemleak exists, its report is logged as well.
func TestProcListenUnboundLeak(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	procCountGuard(t, ids, b)

	// The precondition the leak needs: such a LISTEN is accepted. The
	// observer stops listening before the count below, so that the
	// acks of those LISTENs go nowhere.
	obs := newProcSocket(t, ids, true)
	oa := rand.Uint32()
	obs.request(t, connector.ProcListen, oa)
	unbound := dial(t, nil)
	ua := rand.Uint32()
	send(t, unbound, procOp(connector.ProcListen, ua))
	send(t, unbound, procOp(connector.ProcIgnore, ua+1))
	evs := obs.sync(t)
	obs.request(t, connector.ProcIgnore, oa+1)
	if err := obs.c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := ackOf(evs, oa); !ok {
		t.Fatalf("no ack for the observer's LISTEN")
	}
	if ack, ok := ackOf(evs, ua); !ok || ackErr(ack) != 0 {
		t.Fatalf("LISTEN from a socket outside group 1: ack %+v (seen %v), want error 0", ack, ok)
	}

	// 2048 sockets each way: the leak shows as +2040 to +2054 over the
	// control (6.12, 7.3), kernels without it differ by at most 166
	// (arm64's 6.1, counting kmalloc-128), and the verdict's line is
	// n/2. 4096 took twice as long and proved nothing more.
	const n = 2048
	control := slabGrowth(t, n, nil)
	leak := slabGrowth(t, n, [][]byte{procRequestBytes(connector.ProcListen), procRequestBytes(connector.ProcIgnore)})
	extra := leak - control
	size, _ := kmallocSmallest(t)
	t.Logf("8-byte kmalloc objects (kmalloc-%d caches): +%d after %d open/close, +%d after %d LISTEN/IGNORE/close; difference %d", size, control, n, leak, n, extra)
	bugSkUserDataLeak.pin(t, b.ProcSkUserDataLeak, extra >= n/2,
		fmt.Sprintf("%d LISTENs from sockets outside group 1 left %d more 8-byte objects than the control (about %d leak if the bug is there)", n, extra, n))
	kmemleakReport(t)
}

// procRequestBytes is a 4-byte cn_proc request as a datagram.
func procRequestBytes(op uint32) []byte {
	return rawRequest(0, procOp(op, 0x19))
}

// slabGrowth opens n connector sockets outside any group, sends each
// datagram on each, closes it, and returns how much the 8-byte kmalloc
// caches grew.
func slabGrowth(tb testing.TB, n int, datagrams [][]byte) int {
	tb.Helper()
	before := kmalloc8(tb)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	for range n {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, connector.Protocol)
		if err != nil {
			tb.Fatalf("socket: %v", err)
		}
		for _, d := range datagrams {
			if err := unix.Sendto(fd, d, 0, kernel); err != nil {
				unix.Close(fd)
				tb.Fatalf("sendto: %v", err)
			}
		}
		unix.Close(fd)
	}
	return kmalloc8(tb) - before
}

// kmalloc8 sums the objects in use of the kmalloc caches that an 8-byte
// kmalloc comes from: the smallest normal kmalloc caches in /proc/slabinfo
// (kmalloc-8, and kmalloc-rnd-NN-8 where the kernel randomises caches per
// call site). On amd64 those hold 8 bytes. On arm64 before 6.5 the
// smallest is kmalloc-128: include/linux/slab.h makes ARCH_KMALLOC_MINALIGN
// ARCH_DMA_MINALIGN, which arch/arm64/include/asm/cache.h sets to 128, so
// kmalloc(8) rounds up to it; from 6.5 arch/arm64/include/asm/cache.h
// sets ARCH_KMALLOC_MINALIGN to 8 (6.12 has it), and mm/slab_common.c
// (__kmalloc_minalign) uses it when unaligned DMA can be bounced
// (CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC): 6.12 on arm64 has kmalloc-8.
func kmalloc8(tb testing.TB) int {
	tb.Helper()
	_, n := kmallocSmallest(tb)
	return n
}

// kmallocSmallest returns the object size of the smallest normal kmalloc
// caches and the objects they have in use.
func kmallocSmallest(tb testing.TB) (size, active int) {
	tb.Helper()
	b, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		tb.Fatalf("reading /proc/slabinfo: %v", err)
	}
	bySize := map[int]int{} // objects in use by object size
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 || !strings.HasPrefix(fs[0], "kmalloc-") || strings.Contains(fs[0], "dma") {
			continue
		}
		size, err := strconv.Atoi(fs[0][strings.LastIndexByte(fs[0], '-')+1:])
		if err != nil || size < 8 {
			continue // kmalloc-1k and the like are never the smallest
		}
		n, err := strconv.Atoi(fs[1])
		if err != nil {
			tb.Fatalf("slabinfo line %q: %v", line, err)
		}
		bySize[size] += n
	}
	if len(bySize) == 0 {
		tb.Fatalf("no kmalloc cache in /proc/slabinfo")
	}
	size = slices.Min(slices.Collect(maps.Keys(bySize)))
	return size, bySize[size]
}

// kmemleakReport logs what kmemleak says about cn_proc, or that this
// kernel cannot say.
func kmemleakReport(tb testing.TB) {
	tb.Helper()
	const path = "/sys/kernel/debug/kmemleak"
	if _, err := os.Stat(path); err != nil {
		tb.Logf("kmemleak: not checkable on this kernel (%v); the slab count above stands in", err)
		return
	}
	if err := os.WriteFile(path, []byte("scan"), 0); err != nil {
		tb.Logf("kmemleak scan: %v", err)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Logf("reading kmemleak: %v", err)
		return
	}
	n := strings.Count(string(b), "cn_proc_mcast_ctl")
	// kmemleak reports an object only once it is a few seconds old, so a
	// report here can undercount; the slab count is the assertion.
	tb.Logf("kmemleak: %d reports mention cn_proc_mcast_ctl", n)
}

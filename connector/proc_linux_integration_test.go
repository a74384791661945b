// SPDX-License-Identifier: MIT

//go:build linux

package connector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	"golang.org/x/sys/unix"
)

// procKernel is what cn_proc does on one kernel version (docs/connector.md
// §5.3). 2aa1f7a1f47c "connector/cn_proc: Add filtering to fix some bugs"
// (6.6) brought per-socket state and the 8-byte proc_input.
type procKernel struct {
	// filters: the kernel honours ProcFilterRequest.
	filters bool

	// ignoreStops: IGNORE stops the sending socket's events, rather than
	// only lowering a global count.
	ignoreStops bool
}

func procKernelFor(major, minor int) procKernel {
	if major > 6 || major == 6 && minor >= 6 {
		return procKernel{filters: true, ignoreStops: true}
	}
	return procKernel{}
}

func TestIntegrationProcForkExecExit(t *testing.T) {
	start := monotonic(t)
	l := listenProcOrSkip(t, nil)

	ack, ok := l.Ack()
	if !ok || ack.Data != (connector.ProcAck{}) || ack.CPU == 0xffffffff {
		// cn_proc_ack sets cpu -1; send_msg overwrites it (§5.2).
		t.Fatalf("Ack() = %+v, %v; want a successful ack with a real CPU", ack, ok)
	}
	checkZeroPadding(t, ack, 4)

	pid, status := runChild(t, "exit 3")
	if status != 3 {
		t.Fatalf("child exit status = %d, want 3", status)
	}

	evs := childEvents(t, l, pid)
	end := monotonic(t)
	self := int32(os.Getpid())
	want := []struct {
		data connector.ProcData
		used int // event_data bytes the payload uses; the rest must be 0
	}{
		// ParentPID is left out: it is whichever of our threads forked.
		{connector.ProcFork{ChildPID: pid, ChildTGID: pid, ParentTGID: self}, 16},
		{connector.ProcExec{PID: pid, TGID: pid}, 8},
		{connector.ProcExit{PID: pid, TGID: pid, ExitCode: 0x300, ExitSignal: 17, ParentTGID: self}, 24},
	}
	if len(evs) != len(want) {
		t.Fatalf("child %d: got %d events, want fork, exec, exit:\n%s", pid, len(evs), describe(evs))
	}
	for i, w := range want {
		got := evs[i].Data
		switch d := got.(type) {
		case connector.ProcFork:
			d.ParentPID = 0
			got = d
		case connector.ProcExit:
			d.ParentPID = 0
			got = d
		}
		if got != w.data {
			t.Errorf("event %d = %#v, want %#v", i, evs[i].Data, w.data)
		}
		if ts := evs[i].Timestamp; ts < start || ts > end {
			t.Errorf("event %d: timestamp %d outside [%d, %d] of CLOCK_MONOTONIC", i, ts, start, end)
		}
		checkZeroPadding(t, evs[i], w.used)
	}
}

func TestIntegrationProcFilterNonzeroExit(t *testing.T) {
	if !procKernelNow(t).filters {
		t.Skip("skipping: cn_proc filters need 6.6 (2aa1f7a1f47c); older kernels ignore proc_input")
	}
	l := listenProcOrSkip(t, &connector.ProcConfig{Events: connector.ProcEventNonzeroExit})
	if _, ok := l.Ack(); ok {
		t.Fatal("ListenProc waited for an ack no kernel sends to a filtered socket")
	}

	zero, _ := runChild(t, "exit 0")
	five, _ := runChild(t, "exit 5")

	// The filter applies to every process's events.
	var found bool
	for _, ev := range collect(t, l, five) {
		exit, ok := ev.Data.(connector.ProcExit)
		if !ok || exit.ExitCode == 0 {
			t.Errorf("filtered socket got %#x %+v", ev.What, ev.Data)
		}
		if ok && exit.TGID == zero {
			t.Errorf("filtered socket got the exit(0) of %d", zero)
		}
		if ok && exit.TGID == five && exit.ExitCode == 0x500 {
			found = true
		}
	}
	if !found {
		t.Fatalf("filtered socket did not get the exit(5) of %d", five)
	}
}

func TestIntegrationProcFilterAllAcked(t *testing.T) {
	if !procKernelNow(t).filters {
		t.Skip("skipping: cn_proc filters need 6.6 (2aa1f7a1f47c); older kernels send no ack for proc_input")
	}
	// PROC_EVENT_ALL, NONZERO_EXIT included, is the one filter acked (§5.2).
	l := listenProcOrSkip(t, &connector.ProcConfig{Events: connector.ProcEventAll})
	if _, ok := l.Ack(); !ok {
		t.Fatal("no ack for a filter of all events")
	}
}

func TestIntegrationProcIgnore(t *testing.T) {
	want := procKernelNow(t)
	a := listenProcOrSkip(t, nil)
	b := listenProcOrSkip(t, nil)
	if err := a.Ignore(); err != nil {
		t.Fatalf("failed to send IGNORE: %v", err)
	}

	pid, _ := runChild(t, "exit 3")
	if evs := childEvents(t, b, pid); len(evs) != 3 {
		t.Fatalf("listener B: got %d events of child %d, want 3:\n%s", len(evs), pid, describe(evs))
	}
	got := len(childEvents(t, a, pid)) > 0
	if got == want.ignoreStops {
		t.Fatalf("after IGNORE, listener A got events of the child: %v, want %v on this kernel", got, !want.ignoreStops)
	}
}

func TestIntegrationProcCloseUnblocksNext(t *testing.T) {
	l := listenProcOrSkip(t, &connector.ProcConfig{NoAck: true})

	errC := make(chan error, 1)
	go func() {
		for {
			// Other processes' events may come first.
			if _, err := l.Next(context.Background()); err != nil {
				errC <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let Next block; it is fine if it has not yet
	if err := l.Close(); err != nil {
		t.Fatalf("failed to close: %v", err)
	}
	select {
	case err := <-errC:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("error = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked after Close")
	}
}

// listenProcOrSkip listens for process events until the test ends, when
// it sends IGNORE. It skips if this host cannot open or bind the socket.
func listenProcOrSkip(t *testing.T, cfg *connector.ProcConfig) *connector.ProcListener {
	t.Helper()
	if b, err := os.ReadFile("/proc/net/connector"); err != nil || !strings.Contains(string(b), "cn_proc") {
		t.Skipf("skipping: cn_proc is not registered in /proc/net/connector (CONFIG_PROC_EVENTS off?): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := connector.ListenProc(ctx, cfg)
	var oe *connector.OpError
	if errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "subscribe") {
		t.Skipf("skipping: cannot open a NETLINK_CONNECTOR socket or join group 1 (no CONFIG_CONNECTOR, a sandbox, or no CAP_NET_ADMIN before 6.6): %v", err)
	}
	if err != nil {
		t.Fatalf("failed to listen for process events: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("failed to close the listener: %v", err)
		}
	})
	return l
}

func procKernelNow(t *testing.T) procKernel {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatalf("uname: %v", err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("cannot parse kernel release %q: %v", release, err)
	}
	return procKernelFor(major, minor)
}

// runChild runs sh -c script and returns its pid and exit status.
func runChild(t *testing.T, script string) (pid int32, status int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("failed to run /bin/sh: %v", err)
	}
	return int32(cmd.Process.Pid), cmd.ProcessState.ExitCode()
}

// childEvents returns the events of process pid until its exit, or all
// that arrive if none does. The exit may come after waitpid (§5.4 item 5).
func childEvents(t *testing.T, l *connector.ProcListener, pid int32) []connector.ProcEvent {
	t.Helper()
	var out []connector.ProcEvent
	for _, ev := range collect(t, l, pid) {
		if procOf(ev) == pid {
			out = append(out, ev)
		}
	}
	return out
}

// collect returns what l receives until the exit of pid, plus a short
// while for stragglers, or until nothing arrives for a while.
func collect(t *testing.T, l *connector.ProcListener, pid int32) []connector.ProcEvent {
	t.Helper()
	var out []connector.ProcEvent
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), silence)
		ev, err := l.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("failed to receive events: %v", err)
		}
		out = append(out, ev)
		if e, ok := ev.Data.(connector.ProcExit); ok && e.TGID == pid && e.PID == pid {
			deadline = time.Now().Add(silence)
		}
	}
	return out
}

// procOf returns the process an event is about, the child for a fork.
func procOf(ev connector.ProcEvent) int32 {
	switch d := ev.Data.(type) {
	case connector.ProcFork:
		return d.ChildTGID
	case connector.ProcExec:
		return d.TGID
	case connector.ProcComm:
		return d.TGID
	case connector.ProcExit:
		return d.TGID
	}
	return 0
}

// checkZeroPadding checks that the kernel zeroed the event_data bytes the
// payload does not use, which 3.x leaked (docs/connector.md §6 item 5).
func checkZeroPadding(t *testing.T, ev connector.ProcEvent, used int) {
	t.Helper()
	if rest := ev.Raw[used:]; !bytes.Equal(rest, make([]byte, len(rest))) {
		t.Errorf("%#x event: unused event_data bytes %x, want zeros", ev.What, rest)
	}
}

func monotonic(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatalf("clock_gettime: %v", err)
	}
	return uint64(ts.Nano())
}

func describe(evs []connector.ProcEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\t%#x %+v\n", ev.What, ev.Data)
	}
	return b.String()
}

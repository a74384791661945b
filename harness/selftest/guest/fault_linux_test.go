// SPDX-License-Identifier: MIT

package guest_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/connector"
	vmguest "github.com/cnvmtest/cnvmtest/initramfs/guest"
	"github.com/cnvmtest/cnvmtest/initramfs/guest/runner"
	"github.com/cnvmtest/cnvmtest/vmtests/silence"
)

// TestBefore must be the first test of this file, and this file the first
// with tests: it runs before the fault and proves that the harness keeps
// the results that came before it.
func TestBefore(t *testing.T) {
	requireGuest(t)
	sendCounted(t, offCount, "one message to the count id")
	taint := readTaint(t)
	if bad := taint & (taintWarn | taintDie); bad != 0 {
		t.Fatalf("kernel tainted %#x before any fault (warn or die bits %#x)", taint, bad)
	}
	t.Logf("cn_fault answers; kernel taint %#x: no fault yet", taint)
}

// TestWarn makes the module WARN_ON(1). The kernel lives and the test
// passes from its own point of view; the harness must see the WARNING
// splat on the console and turn this test into KERNEL_SPLAT.
func TestWarn(t *testing.T) {
	requireFault(t)
	sendCounted(t, offWarn, "the WARN message")
	if taint := readTaint(t); taint&taintWarn == 0 {
		t.Errorf("kernel taint %#x lacks TAINT_WARN (W) after WARN_ON(1)", taint)
	}
	t.Log("WARN_ON(1) done, the kernel lives: the harness must report KERNEL_SPLAT for this test")
}

// TestOops makes the module dereference NULL inside a helper process's
// sendmsg(). The oops kills the task that sent (only that thread: the rest
// of the helper lives on until it is killed); the kernel lives, tainted D.
// The test passes if that happened; the harness must report the oops.
func TestOops(t *testing.T) {
	requireFault(t)
	before := counter(t, "received")
	h := startHelper(t, offOops)

	deadline := time.Now().Add(30 * time.Second)
	for readTaint(t)&taintDie == 0 {
		select {
		case err := <-h.exited:
			t.Fatalf("the helper exited (%v) and the kernel did not oops; its output:\n%s", err, h.out.String())
		default:
		}
		if time.Now().After(deadline) {
			h.kill(t)
			t.Fatalf("no oops (taint %#x lacks D) 30s after sending to the oops id", readTaint(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := counter(t, "received"); got != before+1 {
		t.Errorf("received = %d after the oops message, want %d", got, before+1)
	}
	select {
	case err := <-h.exited:
		// Not expected: the oops kills one thread, not the process.
		t.Logf("the helper exited by itself: %v", err)
		if strings.Contains(h.out.String(), helperSent) {
			t.Errorf("the helper's send returned despite the oops; its output:\n%s", h.out.String())
		}
	case <-time.After(2 * time.Second):
		t.Log("the helper's sending thread died in the oops; its other threads live on, killing it")
		h.kill(t)
	}
	t.Logf("kernel oopsed and lives, taint %#x: the harness must report KERNEL_SPLAT for this test", readTaint(t))
}

// TestPanic makes the module panic. The guest dies inside the send.
func TestPanic(t *testing.T) {
	requireFault(t)
	t.Log("sending to the panic id: the guest dies now")
	send(t, offPanic)
	time.Sleep(10 * time.Second)
	t.Fatal("the kernel lived through panic()")
}

// TestHang blocks in the module in TASK_UNINTERRUPTIBLE and never returns;
// not even SIGKILL ends the sender. It shortens the hung task timeout so
// that the kernel reports the hang ("blocked for more than 10 seconds")
// well before the harness's timeout.
func TestHang(t *testing.T) {
	requireFault(t)
	const hungTask = "/proc/sys/kernel/hung_task_timeout_secs"
	if err := os.WriteFile(hungTask, []byte("10\n"), 0o644); err != nil {
		t.Logf("cannot shorten the hung task timeout (%v): only the harness's timeout will see this hang", err)
	} else {
		t.Logf("%s = 10", hungTask)
	}
	go func() {
		for {
			if n, err := readParam("hung"); err != nil || n > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Log("the callback is blocked (hung = 1): the sender is in D state for good")
	}()
	send(t, offHang)
	t.Fatal("the send to the hang id returned")
}

// TestSoftLockup makes the module spin with preemption off for spin_ms
// (6 s): with watchdog_thresh=1 on the kernel command line the watchdog
// reports a soft lockup after 2 s, and the kernel lives on.
func TestSoftLockup(t *testing.T) {
	requireFault(t)
	sendCounted(t, offSoftLockup, "the soft lockup message")
	t.Logf("spun %d ms with preemption off: the harness must report the soft lockup for this test", counter(t, "spin_ms"))
}

// TestRCUStall makes the module spin inside an RCU read-side critical
// section with preemption off, after queueing an RCU callback: with
// rcupdate.rcu_cpu_stall_timeout=3 the grace period the callback waits
// for stalls and RCU reports it, and the kernel lives on.
func TestRCUStall(t *testing.T) {
	requireFault(t)
	sendCounted(t, offRCUStall, "the RCU stall message")
	t.Logf("spun %d ms in an RCU read-side section: the harness must report the RCU stall for this test", counter(t, "spin_ms"))
}

// TestLockdep takes the module's two locks in one order, then in the
// other: lockdep (the debug kernel) reports a possible circular locking
// dependency at the second send; nothing deadlocks, the sends are one
// after the other.
func TestLockdep(t *testing.T) {
	requireFault(t)
	sendCounted(t, offLockAB, "the lock A, B message")
	sendCounted(t, offLockBA, "the lock B, A message")
}

// TestDoubleFree makes the module kfree() an object twice. SLUB debugging
// (slub_debug=F) or KASAN reports it and keeps the object off the free
// list; without either the slab may be corrupted, so it runs only where
// one of them is on.
func TestDoubleFree(t *testing.T) {
	requireFault(t)
	sendCounted(t, offDoubleFree, "the double free message")
}

// TestUseAfterFree makes the module read an object it freed. Only KASAN
// sees that: on a KASAN kernel the harness must fail this test with
// KASAN's report; elsewhere nothing happens and the test passes.
func TestUseAfterFree(t *testing.T) {
	requireFault(t)
	sendCounted(t, offUAF, "the use-after-free message")
}

// TestLeak makes the module lose a kmalloc()ed object. Only kmemleak can
// see that; where the kernel has no kmemleak (Debian's) the test says so
// and skips instead of claiming a leak was checked.
func TestLeak(t *testing.T) {
	requireFault(t)
	before := counter(t, "leaked")
	send(t, offLeak)
	if got := counter(t, "leaked"); got != before+1 {
		t.Fatalf("leaked = %d after the leak message, want %d", got, before+1)
	}
	const kmemleak = "/sys/kernel/debug/kmemleak"
	if _, err := os.Stat(kmemleak); err != nil {
		t.Skipf("one object lost, but this kernel has no kmemleak (%v; CONFIG_DEBUG_KMEMLEAK is off in Debian kernels): the leak cannot be seen", err)
	}
	// kmemleak reports objects older than 5 s that no scan found a
	// reference to.
	var report string
	for try := 0; try < 3 && report == ""; try++ {
		time.Sleep(6 * time.Second)
		if err := os.WriteFile(kmemleak, []byte("scan"), 0o644); err != nil {
			t.Fatalf("kmemleak scan: %v", err)
		}
		b, err := os.ReadFile(kmemleak)
		if err != nil {
			t.Fatalf("reading %s: %v", kmemleak, err)
		}
		report = leakOf(string(b), "cn_fault_leak")
	}
	if report == "" {
		t.Fatal("kmemleak found no unreferenced object allocated by cn_fault_leak")
	}
	t.Logf("kmemleak sees the leak:\n%s", report)
}

// TestLateReply runs the guest suite's late-reply control
// (silence.Control, the check vmtests' TestNothingArrivesLate makes on
// cn_echo) on the fault module's late id, which echoes from a workqueue
// delay_ms after the send has returned. The control must catch that reply,
// so this test FAILS, with "late message" in its failure, and the host
// self-test expects exactly that outcome. A pass means the control no
// longer sees replies that the suite's sentinel checks would miss.
func TestLateReply(t *testing.T) {
	requireFault(t)
	delay := time.Duration(counter(t, "delay_ms")) * time.Millisecond
	if delay <= 0 || delay >= silence.ControlWindow {
		t.Fatalf("cn_fault delay_ms=%v: want a delay inside the control's %v window", delay, silence.ControlWindow)
	}
	id, err := faultID(offLate)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.Dial(nil)
	if err != nil {
		t.Fatalf("dialing the connector: %v", err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req := connector.Message{ID: id, Seq: 7, Ack: 70, Data: []byte("reply later")}
	queued, err := silence.Control(ctx, c, req, silence.ControlWindow)
	if len(queued) != 0 {
		t.Errorf("%d message(s) queued when the send returned, want none: the late id replies only from its workqueue", len(queued))
	}
	if err == nil {
		t.Logf("the control saw nothing within %v of the send to %v, whose reply comes after %v: it misses replies from other contexts", silence.ControlWindow, id, delay)
		return
	}
	t.Fatalf("the control, on the late id %v (delay_ms=%d): %v", id, delay.Milliseconds(), err)
}

// TestGoCrash crashes the test binary: a goroutine writes to a nil map and
// nothing recovers the panic, so the runtime prints it and exits with
// status 2 in the middle of this test.
func TestGoCrash(t *testing.T) {
	requireFault(t)
	go func() {
		m := nilMap()
		m["crash"]++
	}()
	time.Sleep(30 * time.Second)
	t.Fatal("the Go runtime survived a nil map write in a goroutine")
}

// TestNeverReturns hangs in user space: the kernel is fine. The test
// binary's own -test.timeout (which the harness sets below its guest
// timeout) panics with a goroutine dump, unless the guest timeout comes
// first.
func TestNeverReturns(t *testing.T) {
	requireFault(t)
	t.Log("blocking forever in select{}")
	select {}
}

// Offsets from the module's val of the ids cn_fault registers.
const (
	offWarn = iota
	offOops
	offPanic
	offHang
	offLeak
	offCount
	offUAF
	offLate
	offSoftLockup
	offRCUStall
	offLockAB
	offLockBA
	offDoubleFree
)

// Kernel taint bits (Documentation/admin-guide/tainted-kernels.rst).
const (
	taintDie  = 1 << 7 // D: the kernel died (oops or BUG)
	taintWarn = 1 << 9 // W: WARN
)

const paramDir = "/sys/module/cn_fault/parameters"

// helperEnv makes the test binary a helper process that sends one message
// to the id at this offset and exits; see TestMain.
const (
	helperEnv  = "CN_FAULT_HELPER_SEND"
	helperSent = "cn_fault helper: send returned"
)

func TestMain(m *testing.M) {
	// Booted as the guest's /init, this binary is the runner too.
	runner.AsInit()
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperMain(v))
	}
	os.Exit(m.Run())
}

func helperMain(v string) int {
	off, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cn_fault helper: %s=%q: %v\n", helperEnv, v, err)
		return 2
	}
	id, err := faultID(off)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cn_fault helper: %v\n", err)
		return 2
	}
	c, err := connector.Dial(nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cn_fault helper: %v\n", err)
		return 2
	}
	defer c.Close()
	fmt.Printf("cn_fault helper: pid %d sending to %v\n", os.Getpid(), id)
	err = c.Send(connector.Message{ID: id, Seq: 1})
	fmt.Printf("%s: %v\n", helperSent, err)
	return 0
}

type helper struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan error
}

// startHelper runs this test binary as a helper that sends to the id at
// offset off.
func startHelper(t *testing.T, off int) *helper {
	t.Helper()
	h := &helper{out: &lockedBuffer{}, exited: make(chan error, 1)}
	h.cmd = exec.Command(os.Args[0])
	h.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", helperEnv, off))
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("starting the helper: %v", err)
	}
	t.Logf("helper pid %d sends to the id at val+%d", h.cmd.Process.Pid, off)
	go func() { h.exited <- h.cmd.Wait() }()
	return h
}

// kill ends the helper with SIGKILL and waits for it.
func (h *helper) kill(t *testing.T) {
	t.Helper()
	h.cmd.Process.Kill()
	select {
	case err := <-h.exited:
		t.Logf("helper killed (%v); its output:\n%s", err, h.out.String())
	case <-time.After(10 * time.Second):
		t.Errorf("helper pid %d still there 10s after SIGKILL", h.cmd.Process.Pid)
	}
}

// requireGuest skips the test outside a cnvmtest guest and fails it inside
// a guest whose runner did not load cn_fault.
func requireGuest(t *testing.T) {
	t.Helper()
	if os.Getenv(vmguest.EnvGuest) != "1" {
		t.Skipf("not in a cnvmtest guest (%s != 1): these tests run under CNVMTEST_SELFTEST=1 go test ./harness/selftest", vmguest.EnvGuest)
	}
	if _, err := os.Stat(paramDir); err != nil {
		t.Fatalf("in a guest but cn_fault is not loaded: %v", err)
	}
}

// requireFault is requireGuest for the tests that break something: they run
// only when the -run pattern names them, never as part of everything.
func requireFault(t *testing.T) {
	t.Helper()
	requireGuest(t)
	run := ""
	if f := flag.Lookup("test.run"); f != nil {
		run = f.Value.String()
	}
	if !strings.Contains(run, t.Name()) {
		t.Skipf("fault test: runs only when -run names it (-run %q does not)", run)
	}
}

func faultID(off int) (connector.ID, error) {
	idx, err := readParam("idx")
	if err != nil {
		return connector.ID{}, err
	}
	val, err := readParam("val")
	if err != nil {
		return connector.ID{}, err
	}
	return connector.ID{Idx: uint32(idx), Val: uint32(val) + uint32(off)}, nil
}

// send sends one empty message to the id at offset off. The callback runs
// inside the send, so when it returns the callback has returned.
// sendCounted sends to the id at off and fails unless the module's
// received counter went up by one: the callback ran and returned.
func sendCounted(t *testing.T, off int, what string) {
	t.Helper()
	before := counter(t, "received")
	send(t, off)
	if got := counter(t, "received"); got != before+1 {
		t.Fatalf("received = %d after %s, want %d", got, what, before+1)
	}
}

func send(t *testing.T, off int) {
	t.Helper()
	id, err := faultID(off)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.Dial(nil)
	if err != nil {
		t.Fatalf("dialing the connector: %v", err)
	}
	defer c.Close()
	if err := c.Send(connector.Message{ID: id, Seq: uint32(off)}); err != nil {
		t.Fatalf("sending to %v: %v", id, err)
	}
}

func readParam(name string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(paramDir, name))
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cn_fault parameter %s: %w", name, err)
	}
	return v, nil
}

func counter(t *testing.T, name string) int64 {
	t.Helper()
	v, err := readParam(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readTaint(t *testing.T) uint64 {
	t.Helper()
	v, err := vmguest.ReadTaint()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// leakOf returns the kmemleak reports in s whose backtrace names fn.
func leakOf(s, fn string) string {
	var out []string
	for _, r := range strings.Split(s, "unreferenced object") {
		if strings.Contains(r, fn) {
			out = append(out, "unreferenced object"+r)
		}
	}
	return strings.Join(out, "")
}

//go:noinline
func nilMap() map[string]int { return nil }

// lockedBuffer is a bytes.Buffer safe for a process's output copier and
// the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

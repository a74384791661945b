// SPDX-License-Identifier: MIT

package vmtests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/cnvmtest/cnvmtest/connector"
	"golang.org/x/sys/unix"
)

// The cn_proc events besides fork, exec, uid/gid and exit: SID
// (proc_sid_connector, from setsid), COMM (proc_comm_connector, from a
// rename), PTRACE (proc_ptrace_connector, from PTRACE_ATTACH and
// PTRACE_DETACH) and COREDUMP (proc_coredump_connector, which get_signal
// in kernel/signal.c calls for every signal whose default action dumps
// core, whether or not a core file is written); drivers/connector/cn_proc.c.

// procEventsComm is the name the child gives itself.
const procEventsComm = "cnvm-t46"

// helperProcEvents is the child of T46: it starts a session, renames
// itself, says it is ready, waits for its stdin to close and then dies of
// SIGABRT with no core file (GOTRACEBACK=crash makes the Go runtime raise
// SIGABRT with the default action after the panic; RLIMIT_CORE 0 keeps
// the core out of the guest's memory).
func helperProcEvents(_ context.Context, args json.RawMessage) (any, error) {
	var comm string
	if err := json.Unmarshal(args, &comm); err != nil {
		return nil, err
	}
	if _, err := unix.Setsid(); err != nil {
		return nil, fmt.Errorf("setsid: %w", err)
	}
	// prctl(PR_SET_NAME), not a write to /proc/self/comm: every kernel of
	// the matrix sends COMM from prctl (kernel/sys.c), but a write to
	// /proc/PID/comm only from 6.1 on (v6.1 fs/proc/base.c comm_write
	// calls proc_comm_connector; v5.10's does not). The name is the
	// calling thread's, whose TGID is this process.
	name, err := unix.BytePtrFromString(comm)
	if err != nil {
		return nil, err
	}
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_NAME): %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return nil, err
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	panic("cnvmtest: dying of SIGABRT on purpose (T46)")
}

// ptraceAttachDetach attaches to pid and detaches again, from one thread
// as ptrace wants, and lets the child go on: PTRACE_ATTACH stops it with
// SIGSTOP, which stops all its threads, and the detach resumes only the
// one traced, hence the SIGCONT.
func ptraceAttachDetach(pid int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := unix.PtraceAttach(pid); err != nil {
			errc <- fmt.Errorf("PTRACE_ATTACH: %w", err)
			return
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
			errc <- fmt.Errorf("waiting for the traced child to stop: %w", err)
			return
		}
		if !ws.Stopped() {
			errc <- fmt.Errorf("the traced child did not stop: wait status %#x", ws)
			return
		}
		if err := unix.PtraceDetach(pid); err != nil {
			errc <- fmt.Errorf("PTRACE_DETACH: %w", err)
			return
		}
		errc <- unix.Kill(pid, unix.SIGCONT)
	}()
	return <-errc
}

// runProcEventsChild runs helperProcEvents to its death, traced once on
// the way, and returns its pid.
func runProcEventsChild(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), helperTimeout)
	defer cancel()
	cmd := helperCommand(ctx, t, "proc-events", procEventsComm)
	cmd.Env = append(cmd.Env, "GOTRACEBACK=crash")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the child: %v", err)
	}
	pid := cmd.Process.Pid
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("child %d said %q (%v)\nstderr:\n%s", pid, line, err, stderr.String())
	}
	if err := ptraceAttachDetach(pid); err != nil {
		stdin.Close()
		cmd.Wait()
		t.Fatal(err)
	}
	stdin.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child %d: %v, want death by SIGABRT\nstderr:\n%s", pid, err, stderr.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("child %d ended with %v, want death by SIGABRT\nstderr:\n%s", pid, ee, stderr.String())
	}
	return pid
}

// tgidOf is the tgid an event is about, or 0.
func tgidOf(ev connector.ProcEvent) int32 {
	switch d := ev.Data.(type) {
	case connector.ProcFork:
		return d.ChildTGID
	case connector.ProcExec:
		return d.TGID
	case connector.ProcSID:
		return d.TGID
	case connector.ProcComm:
		return d.TGID
	case connector.ProcPtrace:
		return d.TGID
	case connector.ProcCoredump:
		return d.TGID
	case connector.ProcExit:
		return d.TGID
	}
	return 0
}

// T46: a child that starts a session, renames itself, is traced and
// detached, and dies of SIGABRT: cn_proc reports SID, COMM, PTRACE twice
// (this process as the tracer, then tracer 0) and COREDUMP with this
// process as the parent, in that order, before its EXIT (exit code 6, no
// core flag: no core file was written).
func TestProcSessionCommPtraceCoredump(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	procCountGuard(t, ids, expect(t))
	// First with nobody listening: cn_proc sends nothing (each
	// proc_*_connector returns at once), and a listener that starts
	// afterwards must see none of that child's events.
	unheard := runProcEventsChild(t)
	l := listenProc(t, nil)

	pid := runProcEventsChild(t)
	self := int32(os.Getpid())

	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	var got []string
	for {
		ev, err := l.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the child's events (so far %q): %v", got, err)
		}
		if tgidOf(ev) == int32(unheard) {
			// All but its EXITs: a thread sends its EXIT after
			// exit_notify, which lets the parent reap the child once
			// the last thread is through it, so an EXIT can still be
			// on its way when the listener starts (v6.1 kernel/exit.c
			// do_exit: exit_notify, then proc_exit_connector). Seen on
			// 7.2 with four guests on two cores: the EXIT of one of
			// the Go child's threads.
			if _, exit := ev.Data.(connector.ProcExit); exit {
				continue
			}
			t.Fatalf("an event of child %d, which ran before anyone listened: %+v", unheard, ev.Data)
		}
		var desc string
		switch d := ev.Data.(type) {
		case connector.ProcSID:
			if d.TGID != int32(pid) {
				continue
			}
			desc = "SID" // of whichever thread called setsid
		case connector.ProcComm:
			if d.TGID != int32(pid) {
				continue
			}
			desc = fmt.Sprintf("COMM %s", d.Comm)
		case connector.ProcPtrace:
			if d.TGID != int32(pid) {
				continue
			}
			desc = fmt.Sprintf("PTRACE tracer=%v", d.TracerTGID == self && d.TracerPID != 0)
			if d.TracerPID == 0 && d.TracerTGID == 0 {
				desc = "PTRACE detached"
			}
		case connector.ProcCoredump:
			if d.TGID != int32(pid) {
				continue
			}
			desc = fmt.Sprintf("COREDUMP parent=%v", d.ParentTGID == self)
		case connector.ProcExit:
			if d.TGID != int32(pid) || d.PID != int32(pid) {
				continue
			}
			desc = fmt.Sprintf("EXIT %#x", d.ExitCode)
		default:
			continue
		}
		got = append(got, desc)
		if strings.HasPrefix(desc, "EXIT") {
			break
		}
	}
	want := []string{"SID", "COMM " + procEventsComm, "PTRACE tracer=true", "PTRACE detached", "COREDUMP parent=true", "EXIT 0x6"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("events of child %d:\n got %q\nwant %q", pid, got, want)
	}
}

// T47: a listener whose filter (6.6 and later) is COMM alone gets the
// child's COMM and nothing else of it: not its FORK, EXEC, SID, PTRACE,
// COREDUMP or EXIT (cn_filter in drivers/connector/cn_proc.c). The
// sentinel is a rename of this process's thread after the child is
// reaped: the child sent its COMM while it ran, long before, so the
// sentinel's COMM must come next. (Its EXIT is no sentinel: do_exit sends
// it after exit_notify has let the parent reap the child, see
// awaitChildrenOn; the filter drops it here anyway.)
func TestProcFilterCommOnly(t *testing.T) {
	requireGuest(t)
	ids := echoIDs(t)
	b := expect(t)
	if !b.ProcFilter {
		t.Skip("this kernel's cn_proc takes no event filter (6.6 added it)")
	}
	procCountGuard(t, ids, b)
	// The unfiltered listener keeps cn_proc sending on kernels that count
	// listeners globally; the filtered one gets no ack.
	listenProc(t, nil)
	l := listenProc(t, &connector.ProcConfig{Events: connector.ProcEventComm})

	pid := runProcEventsChild(t)

	// The sentinel: this thread renamed, then put back.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := os.ReadFile("/proc/thread-self/comm")
	if err != nil {
		t.Fatal(err)
	}
	const sentinel = "cnvm-t47-mark"
	if err := os.WriteFile("/proc/thread-self/comm", []byte(sentinel), 0); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile("/proc/thread-self/comm", bytes.TrimSpace(old), 0)

	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	var got []string
	for len(got) < 2 {
		ev, err := l.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for COMM events (so far %q): %v", got, err)
		}
		switch d := ev.Data.(type) {
		case connector.ProcComm:
			who := "other"
			switch d.TGID {
			case int32(pid):
				who = "child"
			case int32(os.Getpid()):
				who = "self"
			}
			got = append(got, who+" "+d.Comm)
		default:
			got = append(got, fmt.Sprintf("event %#x: %+v", ev.What, ev.Data))
		}
	}
	want := []string{"child " + procEventsComm, "self " + sentinel}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("the COMM-only listener got %q, want %q", got, want)
	}
}

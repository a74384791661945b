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
	"syscall"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/initramfs/guest/runner"
)

// Some rows need another process: an unprivileged one, one in a new
// namespace, or a child whose fork, exec and exit cn_proc reports. The
// guest has no shell to run scripts, so the test binary runs itself with
// envHelper naming a helper function, which TestMain runs instead of the
// tests. A helper reads its arguments as JSON from envHelperArgs and
// prints its observations as JSON on stdout for the parent test to check.
//
// TestMain dispatches rather than a TestHelper… function that returns
// early when envHelper is unset: such a function would show up as a
// passing test in every run that did not use it.
const (
	envHelper     = "CNVMTEST_HELPER"
	envHelperArgs = "CNVMTEST_HELPER_ARGS"
)

// helperTimeout bounds a helper process and everything it waits for.
const helperTimeout = 30 * time.Second

// A helperFunc runs in the helper process. Its result is printed as JSON.
type helperFunc func(ctx context.Context, args json.RawMessage) (any, error)

// helpers are the helper functions by name; each is next to its test.
var helpers = map[string]helperFunc{
	"exit":         helperExit,
	"hold":         helperHold,
	"echo":         helperEcho,
	"bind":         helperBind,
	"sendto":       helperSendto,
	"proc-unpriv":  helperProcUnpriv,
	"proc-request": helperProcRequest,
	"block":        helperBlock,
	"proc-events":  helperProcEvents,
}

func TestMain(m *testing.M) {
	// Booted as the guest's /init, this binary is the runner too.
	runner.AsInit()
	if name := os.Getenv(envHelper); name != "" {
		os.Exit(runHelper(name))
	}
	os.Exit(m.Run())
}

func runHelper(name string) int {
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	res, err := h(ctx, json.RawMessage(os.Getenv(envHelperArgs)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: writing result: %v\n", name, err)
		return 1
	}
	return 0
}

// helperCommand returns the command that runs helper name with args. The
// caller sets SysProcAttr for credentials or namespaces.
func helperCommand(ctx context.Context, tb testing.TB, name string, args any) *exec.Cmd {
	tb.Helper()
	cmd, err := newHelperCmd(ctx, name, args)
	if err != nil {
		tb.Fatal(err)
	}
	return cmd
}

// newHelperCmd is helperCommand for goroutines, which must not stop the
// test themselves.
func newHelperCmd(ctx context.Context, name string, args any) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the test binary: %w", err)
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encoding arguments of helper %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), envHelper+"="+name, envHelperArgs+"="+string(b))
	// The root directory is readable by any user and in any namespace.
	cmd.Dir = "/"
	return cmd, nil
}

// runHelperProcess runs helper name to the end, with env added to its
// environment, and decodes what it printed into out. A helper that fails
// fails the test with its stderr.
func runHelperProcess(tb testing.TB, name string, args any, attr *syscall.SysProcAttr, out any, env ...string) (pid int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), helperTimeout+5*time.Second)
	defer cancel()
	cmd := helperCommand(ctx, tb, name, args)
	cmd.SysProcAttr = attr
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("helper %s: %v\nstderr:\n%s", name, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		tb.Fatalf("helper %s: decoding %q: %v\nstderr:\n%s", name, stdout.String(), err, stderr.String())
	}
	return cmd.Process.Pid
}

// unprivileged runs a helper as nobody: uid and gid 65534, no
// supplementary groups, so no capability at all.
func unprivileged() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
}

// inUserNS runs a helper in a new user namespace (and the initial network
// namespace) as the namespace's root, mapped to nobody outside: the kernel
// then sees kuid 65534, as after `unshare -U` by nobody. Setgroups is
// denied in a namespace that root did not set up, so groups are left alone.
func inUserNS(extra uintptr) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | extra,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
}

// helperExit exits with the code in args, at once: the child whose fork,
// exec and exit cn_proc reports.
func helperExit(_ context.Context, args json.RawMessage) (any, error) {
	var code int
	if err := json.Unmarshal(args, &code); err != nil {
		return nil, fmt.Errorf("exit code: %w", err)
	}
	os.Exit(code)
	return nil, nil
}

// spawnExit runs the test binary as a child that exits with code and
// waits for it. It returns the child's pid.
func spawnExit(tb testing.TB, code int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), helperTimeout)
	defer cancel()
	cmd := helperCommand(ctx, tb, "exit", code)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case code == 0 && err != nil:
		tb.Fatalf("child exiting with 0: %v", err)
	case code != 0 && (!errors.As(err, &ee) || ee.ExitCode() != code):
		tb.Fatalf("child exiting with %d: %v", code, err)
	}
	return cmd.Process.Pid
}

// helperHold prints "ready" once it runs, then exits with the code in
// args when its stdin closes. Its fork and exec are over by the time the
// parent reads "ready", and its exit happens when the parent says.
func helperHold(_ context.Context, args json.RawMessage) (any, error) {
	var code int
	if err := json.Unmarshal(args, &code); err != nil {
		return nil, fmt.Errorf("exit code: %w", err)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(code)
	return nil, nil
}

// A heldChild is a running helperHold.
type heldChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	code  int
}

// spawnHeld starts helperHold and returns once the child has run, so its
// fork and exec events have been sent.
func spawnHeld(tb testing.TB, code int) *heldChild {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	tb.Cleanup(cancel) // last: after the child's exit below
	cmd := helperCommand(ctx, tb, "hold", code)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting a child: %v", err)
	}
	h := &heldChild{cmd: cmd, stdin: stdin, code: code}
	tb.Cleanup(func() { _ = h.exit() })

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("child said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			tb.Fatalf("waiting for child %d: %v", cmd.Process.Pid, err)
		}
	case <-ctx.Done():
		tb.Fatalf("child %d not ready: %v", cmd.Process.Pid, ctx.Err())
	}
	return h
}

func (h *heldChild) pid() int { return h.cmd.Process.Pid }

// exit lets the child exit and waits for it.
func (h *heldChild) exit() error {
	if h.cmd.ProcessState != nil {
		return nil
	}
	_ = h.stdin.Close()
	err := h.cmd.Wait()
	var ee *exec.ExitError
	if h.code != 0 && errors.As(err, &ee) && ee.ExitCode() == h.code {
		return nil
	}
	return err
}

// SPDX-License-Identifier: MIT

// Package vm boots a guest in QEMU through github.com/hugelgupf/vmtest/qemu:
// the kernel console on the first serial port, the result stream on a
// second channel, -no-reboot and panic=-1 so that a guest that powers off,
// reboots or panics ends QEMU, and a timeout after which QEMU is killed.
// Guests are amd64 (QEMU's pc), arm64 (QEMU's virt board) or s390x
// (s390-ccw-virtio, whose Options vmtest cannot make; see arch.go).
package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hugelgupf/vmtest/qemu"
)

// DefaultQEMU is the QEMU binary used for amd64 guests when neither
// Config.QEMU nor VMTEST_QEMU names one; see DefaultQEMUFor.
const DefaultQEMU = "qemu-system-x86_64"

// Config describes one boot.
type Config struct {
	// QEMU is the QEMU command; nil means FindQEMUFor("", Arch).
	QEMU  *QEMU
	Accel Accel
	// Arch is the guest's architecture, AMD64 ("" too), ARM64 or S390X.
	Arch string
	// Kernel is a PVH-capable vmlinux or a bzImage; for arm64, an Image.
	Kernel    string
	Initramfs string
	// Append is added to the kernel command line.
	Append   []string
	MemoryMB int
	CPUs     int
	// Timeout bounds the whole boot; QEMU is killed after it.
	Timeout time.Duration
	// Console receives the kernel console (first serial port) and QEMU's
	// own messages.
	Console io.Writer
	// Results receives each line of the result port as it arrives.
	Results func(line []byte)
	// SizeSet means MemoryMB and CPUs were asked for: they then win over
	// -m and -smp in the QEMU command's own arguments.
	SizeSet bool
	// Extra holds more QEMU arguments (e.g. "-s -S" for gdb).
	Extra []string
}

// Exit says how QEMU ended.
type Exit struct {
	// Err is QEMU's exit error, nil for status 0.
	Err error
	// TimedOut is set when the timeout killed QEMU.
	TimedOut bool
	// Cmdline is the exact QEMU command line, for a reproducer.
	Cmdline []string
	Elapsed time.Duration
}

// Run boots the guest and returns when QEMU has exited and every result
// line has been delivered.
func Run(ctx context.Context, cfg Config) (*Exit, error) {
	q, err := cfg.qemu()
	if err != nil {
		return nil, err
	}
	m, err := machineFor(cfg.Arch)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("result port: %w", err)
	}
	defer pr.Close()

	console := cfg.Console
	if console == nil {
		console = io.Discard
	}
	fns := []qemu.Fn{
		qemu.WithQEMUCommand(dieWithParent(q.String())),
		qemu.WithKernel(cfg.Kernel),
		qemu.WithInitramfs(cfg.Initramfs),
		qemu.WithAppendKernel(append(kernelArgs(m), cfg.Append...)...),
		qemu.WithSerialOutput(nopCloser{console}),
		qemu.WithVMTimeout(cfg.Timeout),
		machineArgs(cfg, q, pw),
	}
	opts, err := options(m, fns...)
	if err != nil {
		return nil, fmt.Errorf("QEMU options: %w", err)
	}
	// vmtest adds -nographic; -nodefaults -display none does the same
	// without a monitor on stdio, which would steal the console.
	opts.QEMUArgs = dropArg(opts.QEMUArgs, "-nographic")

	start := time.Now()
	vmctx, cancel := context.WithCancel(ctx)
	defer cancel()
	guest, err := opts.Start(vmctx)
	pw.Close() // QEMU holds its own copy; EOF on pr means QEMU is gone.
	if err != nil {
		return nil, fmt.Errorf("starting QEMU: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		readLines(pr, cfg.Results)
	}()
	werr := guest.Wait()
	<-done
	exit := &Exit{Err: werr, Cmdline: withoutParentDeath(guest.Cmdline()), Elapsed: time.Since(start)}
	if cfg.Timeout > 0 && exit.Elapsed >= cfg.Timeout && ctx.Err() == nil {
		exit.TimedOut = true
	}
	if ctx.Err() != nil {
		// Killed because the caller gave up (Ctrl-C), not by the guest.
		exit.Err = fmt.Errorf("%w (%v)", ctx.Err(), exit.Err)
	}
	return exit, nil
}

// options is qemu.OptionsFor for m's architecture. For one that vmtest's
// qemu package does not know (s390x) it makes the same Options itself:
// the package uses the architecture only to choose devices, which
// cnvmtest adds itself, and starts any Options alike (Options.Start).
// The environment is honoured as OptionsFor honours it.
func options(m machine, fns ...qemu.Fn) (*qemu.Options, error) {
	if m.arch != "" {
		return qemu.OptionsFor(m.arch, fns...)
	}
	o := &qemu.Options{
		KernelArgs: os.Getenv("VMTEST_KERNEL_APPEND"),
		QEMUArgs:   strings.Fields(os.Getenv("VMTEST_QEMU_APPEND")),
	}
	if d := os.Getenv("VMTEST_TIMEOUT"); d != "" {
		t, err := time.ParseDuration(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", qemu.ErrInvalidTimeout, err)
		}
		o.VMTimeout = t
	}
	ids := qemu.NewIDAllocator()
	for _, f := range fns {
		if err := f(ids, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// kernelArgs are the kernel command line every guest gets: the console on
// the machine's first serial port, a panic ends QEMU at once (with
// -no-reboot), no crypto self-tests, which cost boot time and test nothing
// of ours, and the machine's own (see machines).
func kernelArgs(m machine) []string {
	return append([]string{"console=" + m.console, "panic=-1", "cryptomgr.notests"}, m.kernel...)
}

func (cfg Config) qemu() (*QEMU, error) {
	if cfg.QEMU != nil {
		return cfg.QEMU, nil
	}
	return FindQEMUFor("", cfg.Arch)
}

// machineArgs adds cnvmtest's machine: the serial ports, no reboot, no
// default devices, and the accelerator, memory and CPUs unless the QEMU
// command's own arguments (VMTEST_QEMU) set them and the caller did not
// insist (Config.SizeSet): vmtest's users put -m and -enable-kvm there.
func machineArgs(cfg Config, q *QEMU, results *os.File) qemu.Fn {
	return func(_ *qemu.IDAllocator, o *qemu.Options) error {
		m, err := machineFor(cfg.Arch)
		if err != nil {
			return err
		}
		mem, cpus := cfg.MemoryMB, cfg.CPUs
		if mem == 0 {
			mem = 1024
		}
		if cpus == 0 {
			cpus = 1
		}
		accel := cfg.Accel
		if accel == "" {
			accel = TCG
		}
		fd := o.AddFile(results)
		o.AppendQEMU("-nodefaults", "-display", "none", "-no-reboot")
		if !q.has("-machine", "-M") {
			o.AppendQEMU(m.board...)
		}
		if q.Accel() == "" && !q.has("-machine", "-M") {
			o.AppendQEMU("-accel", string(accel))
		}
		if cfg.SizeSet || !q.has("-m") {
			o.AppendQEMU("-m", strconv.Itoa(mem))
		}
		if cfg.SizeSet || !q.has("-smp") {
			o.AppendQEMU("-smp", strconv.Itoa(cpus))
		}
		o.AppendQEMU("-serial", "stdio")
		o.AppendQEMU(m.resultFn(fd)...)
		switch {
		case q.has("-cpu"):
		case accel == KVM:
			o.AppendQEMU("-cpu", "host")
		case m.cpu != "":
			o.AppendQEMU("-cpu", m.cpu)
		}
		o.AppendQEMU(cfg.Extra...)
		return nil
	}
}

func readLines(r io.Reader, f func([]byte)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && f != nil {
			f(line)
		}
		if err != nil {
			return
		}
	}
}

func dropArg(args []string, drop string) []string {
	out := args[:0]
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ExitCode returns QEMU's exit status, or -1 when it did not exit normally.
func (e *Exit) ExitCode() int {
	if e.Err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Interactive boots the guest with the console on this process's terminal
// (stdin and stdout) for a person to use; the result port goes to
// resultFile. It returns when QEMU exits.
func Interactive(ctx context.Context, cfg Config, resultFile string) (*Exit, error) {
	q, err := cfg.qemu()
	if err != nil {
		return nil, err
	}
	m, err := machineFor(cfg.Arch)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(resultFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opts, err := options(m,
		qemu.WithQEMUCommand(q.String()),
		qemu.WithKernel(cfg.Kernel),
		qemu.WithInitramfs(cfg.Initramfs),
		qemu.WithAppendKernel(append(kernelArgs(m), cfg.Append...)...),
		machineArgs(cfg, q, f),
	)
	if err != nil {
		return nil, fmt.Errorf("QEMU options: %w", err)
	}
	opts.QEMUArgs = dropArg(opts.QEMUArgs, "-nographic")
	// Ctrl-C belongs to the guest's shell, not to QEMU.
	for i, a := range opts.QEMUArgs {
		if a == "stdio" && i > 0 && opts.QEMUArgs[i-1] == "-serial" {
			opts.QEMUArgs[i-1], opts.QEMUArgs[i] = "-chardev", "stdio,id=con,signal=off"
			opts.QEMUArgs = append(opts.QEMUArgs[:i+1], append([]string{"-serial", "chardev:con"}, opts.QEMUArgs[i+1:]...)...)
			break
		}
	}
	cmdline, err := opts.Cmdline()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, cmdline[0], cmdline[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = opts.ExtraFiles
	start := time.Now()
	err = cmd.Run()
	return &Exit{Err: err, Cmdline: cmdline, Elapsed: time.Since(start)}, nil
}

// setpriv is util-linux's, on every Debian and Ubuntu system.
const setpriv = "setpriv"

// dieWithParent returns the command qemu (a path and its arguments, as
// QEMU.String gives them and vmtest splits them at blanks) so that the kernel kills QEMU when the process
// that started it dies: PR_SET_PDEATHSIG through setpriv, which execs
// QEMU and so keeps the setting. A harness killed with SIGKILL (a CI job's
// timeout, kill -9) cannot stop its guest itself, and the guest would
// otherwise hold a CPU and the run's files until its own timeout. vmtest
// makes the exec.Cmd itself, so SysProcAttr.Pdeathsig is out of reach.
// The parent is the thread that forked: Go keeps its threads, but for
// those of goroutines that exit locked to them, and none starts QEMU.
// Without setpriv the command is qemu alone.
func dieWithParent(qemu string) string {
	path, err := exec.LookPath(setpriv)
	if err != nil || strings.ContainsAny(path, " \t") {
		return qemu
	}
	return path + " --pdeathsig KILL -- " + qemu
}

// withoutParentDeath is the QEMU command line without dieWithParent's
// prefix: the command line reports, reproducers and benches show.
func withoutParentDeath(cmdline []string) []string {
	if len(cmdline) > 4 && filepath.Base(cmdline[0]) == setpriv && cmdline[3] == "--" {
		return cmdline[4:]
	}
	return cmdline
}

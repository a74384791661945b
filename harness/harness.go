// SPDX-License-Identifier: MIT

// Package harness runs one cnvmtest job: it resolves the kernel, builds the
// module and the guest binaries, assembles the initramfs, boots QEMU, reads
// the guest's result stream live and turns it into go test output, JSON and
// JUnit, with the kernel console saved and analysed.
//
// [Run], [RunMatrix] and [Shell] take [Options], the caller's configuration,
// which they never write; a run keeps its state in a type of its own.
// [Options.Check] finds every usage mistake before anything is downloaded
// or written.
//
// The packages below it (kernel, build, vm, klog, report, bisect) never
// import it. Its clients are the CLI (cmd/cnvmtest), the benchmarks
// (harness/bench) and the fault self-tests (harness/selftest).
package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kcov"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
)

// Options configure a run. They are the caller's configuration: a run
// reads them and never writes them (its state lives in its own type). The
// zero value of a field means its default.
type Options struct {
	// Repo is the root of a cnvmtest source tree, or "" to run without
	// one. With a tree the guest runner is built from it and the default
	// module and tests are its kmod/ and vmtests/; without one the
	// running binary serves as the guest runner and the default module is
	// the cn_echo sources embedded in it (package kmod).
	Repo string
	// Kernel is a kernel spec (see package kernel); default debian:6.1.
	Kernel string
	// KmodDir is the module source directory; default Repo/kmod, or the
	// embedded cn_echo without a tree.
	KmodDir      string
	ModuleParams string
	// TestsDir and TestsPkg name the Go test package compiled for the
	// guest: `go test -c TestsPkg` runs in TestsDir. Default Repo,
	// ./vmtests; without a tree one must be given.
	TestsDir, TestsPkg string
	// Exec, when set, runs this static host program (and arguments) in
	// the guest with the module loaded instead of the tests.
	Exec []string
	// WorkDir, with Exec, is a host directory copied into the guest at
	// the same path and made the program's working directory (go test
	// -exec runs a test binary in its package's directory, where its
	// testdata is).
	WorkDir string
	// Env is added to the environment of the guest's program.
	Env []string
	// KernelArgs are added to the kernel command line (for instance a
	// shorter soft-lockup threshold, watchdog_thresh=2).
	KernelArgs []string
	// Files are host files copied into the guest's /cnvm directory.
	Files []string
	// Run, Count, Bench and BenchTime go to the test binary as
	// -test.run, -test.count, -test.bench (with -test.benchmem) and
	// -test.benchtime.
	Run       string
	Count     int
	Bench     string
	BenchTime string
	// Cover builds the test binary with Go coverage (go test -cover) and
	// brings the counters back from the guest: the run prints the
	// coverage, and writes a profile to CoverProfile when it is set
	// (which implies Cover). CoverPkg is -coverpkg; for the default
	// suite, whose package holds only tests, the default is the
	// connector package.
	Cover        bool
	CoverProfile string
	CoverPkg     string
	// KernelCoverage is the kernel's gcov coverage (docs in kcover.go):
	// KernelCoverageRun, KernelCoveragePerTest or KernelCoverageOff. The
	// default is KernelCoverageRun on a kernel built with
	// CONFIG_GCOV_KERNEL (the coverage flavour), else off.
	KernelCoverage string
	// TestTimeout is how long the tests may go without a test starting or
	// ending before the guest treats them as hung; default scaled by
	// accelerator.
	TestTimeout time.Duration
	// Timeout bounds the guest; default VMTEST_TIMEOUT, else scaled by
	// accelerator.
	Timeout time.Duration
	// Accel is the accelerator mode; default AccelAuto.
	Accel AccelMode
	// Init chooses the guest's first process; default InitRunner. A shell
	// always boots u-root's init.
	Init Init
	// Verbose prints every test's output, the progress of the run and
	// the phase timings. JSON prints test2json events instead of text,
	// and then progress only with Verbose, so that standard output is a
	// clean event stream and standard error carries only real errors.
	Verbose, JSON bool
	// Quiet keeps progress off Stderr (exec for go test -exec); errors
	// and a failed run's reason are still printed.
	Quiet bool
	// JUnit, when set, is the path of a JUnit XML report.
	JUnit string
	// OutDir holds one directory per run (console log, initramfs, QEMU
	// command line); default ./out of the working directory.
	OutDir string
	// CPUs and MemoryMB size the guest; 0 means by need (see
	// guestMemory and the -cpus flag).
	CPUs, MemoryMB int
	// Stdout receives results; Stderr progress and diagnostics.
	Stdout, Stderr io.Writer
	// Store is the kernel store; default kernel.DefaultStore().
	Store *kernel.Store
}

// Phase is the wall time of one step of a run.
type Phase struct {
	Name    string
	Elapsed time.Duration
}

// Result is what a run produced.
type Result struct {
	Outcome report.Outcome
	Reason  string
	Summary report.RunSummary
	// Tests are the results of every test and subtest.
	Tests []report.TestResult
	// RunDir holds the console log, the initramfs and the QEMU command line.
	RunDir, ConsoleLog string
	Kernel             *kernel.Kernel
	// Module is the .ko the guest loaded (in the module cache).
	Module string
	// CPUs and MemoryMB are the guest's size.
	CPUs, MemoryMB int
	Accel          vm.Accel
	// Arch is the guest's architecture ("amd64", "arm64", "s390x"), and Emulator
	// what ran it: "qemu-system-aarch64 -machine virt -cpu … (tcg)".
	Arch, Emulator string
	Phases         []Phase
	// ExecStatus is the program's exit status in exec mode.
	ExecStatus int
	// KernelCoverage is the kernel's gcov coverage, when it was
	// collected (see Options.KernelCoverage).
	KernelCoverage *kcov.Report
}

// ExitCode is the process exit status for the result.
func (r *Result) ExitCode() int {
	if r.Outcome == report.Pass && r.ExecStatus != 0 {
		return r.ExecStatus
	}
	return r.Outcome.ExitCode()
}

// guestMemory is the guest's memory in MiB when none is asked for: the
// whole suite passes in 256 MiB on Debian 6.1 (cnvmtest run -mem 256), so
// 512 leaves room for the initramfs (unpacked, it lives in that memory)
// and for bigger test binaries; a debug kernel's KASAN shadow and
// quarantine and kmemleak's tracking need more.
func guestMemory(k *kernel.Kernel) int {
	if k.Flavour == "debug" {
		return 1024
	}
	return 512
}

// newRunDir makes a fresh directory for this run under OutDir and points
// OutDir/latest at it.
func newRunDir(outDir string) (string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	stamp := time.Now().Format("20060102-150405")
	dir, err := os.MkdirTemp(outDir, "run-"+stamp+"-")
	if err != nil {
		return "", err
	}
	latest := filepath.Join(outDir, "latest")
	os.Remove(latest)
	os.Symlink(filepath.Base(dir), latest)
	return dir, nil
}

// chooseAccel applies the user's choice, probing KVM for auto. An
// accelerator in the QEMU command's own arguments (VMTEST_QEMU) is taken
// as it is. A guest of another architecture than the host's is emulated.
func chooseAccel(ctx context.Context, want AccelMode, q *vm.QEMU, arch string) (vm.Accel, string, error) {
	if a := q.Accel(); a != "" {
		return a, "chosen by the QEMU command's arguments (VMTEST_QEMU)", nil
	}
	if arch != kernel.HostArch {
		if want == AccelKVM {
			return "", "", fmt.Errorf("KVM requested, but it runs only %s guests, and this one is %s", kernel.HostArch, arch)
		}
		return vm.TCG, fmt.Sprintf("TCG: an %s guest on an %s host", arch, kernel.HostArch), nil
	}
	switch want {
	case AccelTCG:
		return vm.TCG, "TCG (requested)", nil
	case AccelKVM:
		a, why := vm.Probe(ctx, q.Path)
		if a != vm.KVM {
			return "", "", fmt.Errorf("KVM requested but %s", why)
		}
		return a, why, nil
	}
	a, why := vm.Probe(ctx, q.Path)
	return a, why, nil
}

// timeouts returns the guest's timeout, the test binary's own -test.timeout
// and the stall timeout of a single test, scaled for emulation: TCG runs a
// kernel several times slower than KVM.
func (o *Options) timeouts(accel vm.Accel) (vmTimeout, binTimeout, stall time.Duration) {
	vmTimeout, stall = o.Timeout, o.TestTimeout
	if vmTimeout == 0 {
		vmTimeout = 3 * time.Minute
		if accel == vm.TCG {
			vmTimeout = 10 * time.Minute
		}
	}
	if stall == 0 {
		stall = time.Minute
		if accel == vm.TCG {
			stall = 3 * time.Minute
		}
	}
	// The binary's own timeout fires first and prints its goroutines;
	// then the runner's deadline (forensics); then the host kills QEMU.
	binTimeout = runnerDeadline(vmTimeout) * 8 / 10
	return vmTimeout, binTimeout, stall
}

// runnerDeadline leaves the runner time to collect forensics (about 6 s)
// and report before the host kills the guest. It counts guest uptime, so
// boot time is included as it is in the host's timeout.
func runnerDeadline(vmTimeout time.Duration) time.Duration {
	return vmTimeout - max(vmTimeout/10, 10*time.Second)
}

// guestCoverDir is where a test binary built with coverage writes its
// counters in the guest.
const guestCoverDir = "/tmp/cnvmtest-cover"

func (o *Options) testArgs(binTimeout time.Duration) []string {
	args := []string{"-test.v=test2json", "-test.timeout=" + binTimeout.String()}
	if o.Cover {
		args = append(args, "-test.gocoverdir="+guestCoverDir)
	}
	if o.Run != "" {
		args = append(args, "-test.run="+o.Run)
	}
	if o.Count > 0 {
		args = append(args, fmt.Sprintf("-test.count=%d", o.Count))
	}
	if o.Bench != "" {
		args = append(args, "-test.bench="+o.Bench, "-test.benchmem")
	}
	if o.BenchTime != "" {
		args = append(args, "-test.benchtime="+o.BenchTime)
	}
	return args
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t\n'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// Command cnvmtest boots a real Linux kernel in QEMU with a u-root
// initramfs, loads a kernel module and runs Go tests (or any static
// program) inside the guest against the real kernel connector.
//
// Usage:
//
//	cnvmtest [run] [flags]              run the guest test suite
//	cnvmtest exec [flags] -- PROG ARGS  run a static program in the guest
//	cnvmtest shell [flags]              an interactive shell in the guest
//	cnvmtest bisect [flags]             find the first failing kernel, package or commit
//
// The exit status is 0 when every guest test passed; see package report for
// the status of each other outcome.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "run", "exec", "shell":
		return runCmd(ctx, cmd, args, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args, stdout, stderr)
	case "kernels":
		return kernelsCmd(ctx, args, stdout, stderr)
	case "bisect":
		return bisectCmd(ctx, args, stdout, stderr)
	case "bisect-step":
		return bisectStepCmd(ctx, args, stdout, stderr)
	case "help":
		usage(stderr)
		return 0
	}
	fmt.Fprintf(stderr, "cnvmtest: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  cnvmtest [run] [flags]               run the guest test suite
  cnvmtest exec [flags] -- PROG ARGS   run a static program in the guest with the module loaded
  cnvmtest shell [flags]               an interactive u-root shell in the guest with the module loaded
  cnvmtest kernels list|get SPEC|prune  the kernel store (kernels -h)
  cnvmtest bench [flags]               measure cnvmtest itself (README: Benchmarks)
  cnvmtest bisect [flags]              find the first kernel, Debian package or module commit that fails (bisect -h)
Run 'cnvmtest run -h' for the flags.
`)
}

func runCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnvmtest "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o harness.Options
	fs.StringVar(&o.Kernel, "kernel", envOr("CNVMTEST_KERNEL", ""), "kernel spec, e.g. debian:6.1, or a comma-separated list for a matrix (default debian:6.1; env CNVMTEST_KERNEL)")
	fs.StringVar(&o.KmodDir, "kmod", "", "module source directory (default ./kmod)")
	fs.StringVar(&o.ModuleParams, "params", "", "module parameters, e.g. 'idx=18 val=5'")
	tests := fs.String("tests", "", "Go test package to run in the guest: a package path in this module or a directory (default ./vmtests)")
	fs.StringVar(&o.Run, "run", "", "run only tests matching this regexp (as go test -run)")
	fs.IntVar(&o.Count, "count", 0, "run each test this many times (as go test -count)")
	fs.StringVar(&o.Bench, "bench", "", "run benchmarks matching this regexp in the guest (as go test -bench, with -benchmem)")
	fs.StringVar(&o.BenchTime, "benchtime", "", "as go test -benchtime")
	fs.DurationVar(&o.Timeout, "timeout", 0, "kill the guest after this long (default 10m under TCG, 3m under KVM; env VMTEST_TIMEOUT)")
	fs.DurationVar(&o.TestTimeout, "test-timeout", 0, "treat the tests as hung when no test starts or ends for this long (default 3m under TCG, 1m under KVM)")
	fs.StringVar(&o.Accel, "accel", envOr("CNVMTEST_ACCEL", "auto"), "accelerator: auto (probe KVM, else TCG), kvm (fail without it) or tcg")
	fs.BoolVar(&o.Verbose, "v", false, "verbose: every test's output, phase timings")
	fs.BoolVar(&o.JSON, "json", false, "print go test -json events")
	fs.StringVar(&o.JUnit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&o.OutDir, "out", "", "directory for run directories (default ./out)")
	fs.IntVar(&o.CPUs, "cpus", 0, "guest CPUs (default 1 under TCG, where a second vCPU costs more than it gives, 2 under KVM; 1 each in a parallel matrix)")
	fs.IntVar(&o.MemoryMB, "mem", 1024, "guest memory in MiB")
	fs.Func("env", "`K=V` added to the guest program's environment (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want K=V, got %q", v)
		}
		o.Env = append(o.Env, v)
		return nil
	})
	fs.Func("file", "host `FILE` copied into the guest's /cnvm directory (repeatable)", func(v string) error {
		o.Files = append(o.Files, v)
		return nil
	})
	parallel := fs.Int("parallel", 0, "with several kernels (-kernel a,b,c): guests at once (default one per core)")
	repo := fs.String("repo", "", "cnvmtest source tree (default: found from the working directory)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch o.Accel {
	case "auto", "kvm", "tcg":
	default:
		fmt.Fprintf(stderr, "cnvmtest: unknown accelerator %q: want auto, kvm or tcg\n", o.Accel)
		return 2
	}
	if cmd == "exec" {
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "cnvmtest exec: no program given: cnvmtest exec [flags] -- PROG ARGS")
			return 2
		}
		o.Exec = fs.Args()
		if err := checkStatic(o.Exec[0]); err != nil {
			fmt.Fprintf(stderr, "cnvmtest exec: %v\n", err)
			return 2
		}
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cnvmtest: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.Timeout == 0 {
		if v, err := envDuration("VMTEST_TIMEOUT"); err != nil {
			fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
			return 2
		} else {
			o.Timeout = v
		}
	}

	var err error
	if o.Repo, err = findRepo(*repo); err != nil {
		fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
		return 2
	}
	if *tests != "" {
		if st, err := os.Stat(*tests); err == nil && st.IsDir() && !strings.HasPrefix(*tests, "./") {
			o.TestsDir, o.TestsPkg = *tests, "."
		} else {
			o.TestsPkg = *tests
		}
	}
	if o.KmodDir != "" {
		if o.KmodDir, err = filepath.Abs(o.KmodDir); err != nil {
			fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
			return 2
		}
	}
	o.Stdout, o.Stderr = stdout, stderr

	if cmd == "shell" {
		if err := harness.Shell(ctx, o); err != nil {
			fmt.Fprintf(stderr, "cnvmtest shell: %v\n", err)
			return report.Infra.ExitCode()
		}
		return 0
	}
	if kernels := kernel.SplitSpecs(o.Kernel); len(kernels) > 1 {
		start := time.Now()
		results := harness.RunMatrix(ctx, o, kernels, *parallel)
		harness.WriteMatrixSummary(stdout, results, time.Since(start))
		return harness.WorstOutcome(results).ExitCode()
	}
	res, err := harness.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest: INFRA: %v\n", err)
		return report.Infra.ExitCode()
	}
	return res.ExitCode()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

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
	var rf runFlags
	rf.register(fs)
	fs.StringVar(&rf.o.Bench, "bench", "", "run benchmarks matching this regexp in the guest (as go test -bench, with -benchmem)")
	fs.StringVar(&rf.o.BenchTime, "benchtime", "", "as go test -benchtime")
	fs.BoolVar(&rf.o.JSON, "json", false, "print go test -json events")
	fs.StringVar(&rf.o.JUnit, "junit", "", "write a JUnit XML report to this file")
	parallel := fs.Int("parallel", 0, "with several kernels (-kernel a,b,c): guests at once (default one per core)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o, err := rf.options(stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
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

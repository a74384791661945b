// SPDX-License-Identifier: MIT

// Command cnvmtest boots a real Linux kernel in QEMU, loads a kernel
// module and runs Go tests (or any static program) inside the guest
// against the real kernel connector.
//
// Usage:
//
//	cnvmtest [run] [flags]              run the guest test suite
//	cnvmtest exec [flags] -- PROG ARGS  run a static program in the guest
//	cnvmtest shell [flags]              an interactive shell in the guest
//	cnvmtest bisect [flags]             find the first failing kernel, package or commit
//	cnvmtest version                    the module version, VCS revision and Go version
//
// go test -exec 'cnvmtest exec --' runs a package's tests in the guest.
//
// The exit status is 0 when every guest test passed, 2 for a usage error
// (found before anything is downloaded, built or written), and otherwise
// the outcome's status (package report).
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

// exitUsage is the status of a usage error, as the flag package and the
// go command use it; no outcome has it (package report).
const exitUsage = report.ExitUsage

func main() {
	asGuestRunner()
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
	case "version":
		fmt.Fprintln(stdout, version())
		return 0
	case "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "cnvmtest: unknown command %q\n", cmd)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  cnvmtest [run] [flags]               run the guest test suite
  cnvmtest exec [flags] -- PROG ARGS   run a static program in the guest with the module loaded
                                       (go test -exec 'cnvmtest exec --' runs a package's tests there)
  cnvmtest shell [flags]               an interactive u-root shell in the guest with the module loaded
  cnvmtest kernels list|get SPEC|prune  the kernel store (kernels -h)
  cnvmtest bench [flags]               measure cnvmtest itself (README: Benchmarks)
  cnvmtest bisect [flags]              find the first kernel, Debian package or module commit that fails (bisect -h)
  cnvmtest version                     the module version, VCS revision and Go version
Run 'cnvmtest run -h' for the flags. Exit status: 0 PASS, 2 usage error, else the outcome's (README).
`)
}

func runCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnvmtest "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf runFlags
	rf.register(fs)
	fs.StringVar(&rf.o.Bench, "bench", "", "run benchmarks matching this regexp in the guest (as go test -bench, with -benchmem)")
	fs.StringVar(&rf.o.BenchTime, "benchtime", "", "as go test -benchtime")
	fs.BoolVar(&rf.o.JSON, "json", false, "print go test -json events on stdout (progress only with -v)")
	fs.StringVar(&rf.o.JUnit, "junit", "", "write a JUnit XML report to this file")
	fs.BoolVar(&rf.o.Cover, "cover", false, "build the tests with Go coverage and print it, as go test -cover (the default suite covers package connector)")
	fs.StringVar(&rf.o.CoverProfile, "coverprofile", "", "write the Go coverage profile to this file (implies -cover)")
	fs.StringVar(&rf.o.CoverPkg, "coverpkg", "", "as go test -coverpkg (implies -cover)")
	fs.StringVar(&rf.o.KernelCoverage, "coverage", "", "the kernel's gcov coverage of drivers/connector and the module: run, per-test (one tracefile per top-level test) or off; default run on a coverage kernel (debian-src:6.12@coverage)")
	parallel := fs.Int("parallel", 0, "with several kernels (-kernel a,b,c): guests at once (default one per core)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, version())
		return 0
	}
	o, err := rf.options(stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
		return exitUsage
	}
	switch {
	case cmd == "exec":
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "cnvmtest exec: no program given: cnvmtest exec [flags] -- PROG ARGS")
			return exitUsage
		}
		o.Exec = fs.Args()
		if strings.HasSuffix(o.Exec[0], ".test") {
			// go test -exec: the test binary runs in its package's
			// directory, and go test prints what it says, so only
			// errors go to standard error.
			if o.WorkDir, err = os.Getwd(); err != nil {
				fmt.Fprintf(stderr, "cnvmtest exec: %v\n", err)
				return exitUsage
			}
			o.Quiet = true
			if o.OutDir == "" {
				o.OutDir = filepath.Join(moduleRoot(o.WorkDir), "out")
			}
		}
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "cnvmtest: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if err := o.Check(); err != nil {
		fmt.Fprintf(stderr, "cnvmtest %s: %v\n", cmd, err)
		return exitUsage
	}

	if cmd == "shell" {
		if err := harness.Shell(ctx, o); err != nil {
			fmt.Fprintf(stderr, "cnvmtest shell: %v\n", err)
			return report.Infra.ExitCode()
		}
		return 0
	}
	start := time.Now()
	var results []harness.MatrixResult
	if kernels := kernel.SplitSpecs(o.Kernel); len(kernels) > 1 {
		results = harness.RunMatrix(ctx, o, kernels, *parallel)
		harness.WriteMatrixSummary(stdout, results, time.Since(start))
	} else {
		res, err := harness.Run(ctx, o)
		var usage *harness.UsageError
		if errors.As(err, &usage) {
			fmt.Fprintf(stderr, "cnvmtest %s: %v\n", cmd, err)
			return exitUsage
		}
		if err != nil {
			fmt.Fprintf(stderr, "cnvmtest: INFRA: %v\n", err)
		}
		results = []harness.MatrixResult{{Kernel: o.Kernel, Result: res, Err: err, Elapsed: time.Since(start)}}
	}
	if rf.markdown != "" {
		if err := appendMarkdown(rf.markdown, results); err != nil {
			fmt.Fprintf(stderr, "cnvmtest: %v\n", err)
		}
	}
	if len(results) == 1 && results[0].Err == nil && results[0].Result != nil {
		return results[0].Result.ExitCode()
	}
	return harness.WorstOutcome(results).ExitCode()
}

// appendMarkdown appends the results table to path.
func appendMarkdown(path string, results []harness.MatrixResult) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("-markdown: %w", err)
	}
	harness.WriteMarkdown(f, results)
	return f.Close()
}

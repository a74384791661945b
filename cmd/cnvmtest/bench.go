// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/bench"
)

// benchCmd measures cnvmtest (see package bench), prints a table, writes
// the JSON report, and with -compare prints the changes against an older
// report. `cnvmtest bench -compare OLD NEW` compares two reports without
// measuring anything.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cnvmtest bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage:
  cnvmtest bench [flags]                 measure, print a table, write out/bench/bench-DATE.json
  cnvmtest bench -compare OLD.json       measure, then print the changes since OLD
  cnvmtest bench -compare OLD.json NEW   print the changes between two reports, measuring nothing
Sections: suite (the whole suite as make vmtest runs it, against the floors),
run (one-test runs against the floors: the harness's overhead), guest (echo
benchmarks in the guest), host (encoder benchmarks), matrix (the whole suite
on four kernels), cold (only with -cold), arch (the whole suite and a bare
boot per guest architecture, -arch-kernels, and the harness's overhead per
run against amd64's; only with -arch or -only arch), maketest (make test
once, only with -maketest). Flags:
`)
		fs.PrintDefaults()
	}
	var cfg bench.Config
	fs.IntVar(&cfg.N, "n", bench.DefaultN, "measure each quantity this many times (3 for a quick look)")
	kernels := fs.String("kernels", bench.DefaultKernel, "comma-separated kernels for the warm runs and the floor; the first also serves suite, guest and cold")
	fs.StringVar(&cfg.Run, "run", bench.DefaultRun, "tests of the warm runs and the matrix (go test -run)")
	matrix := fs.String("matrix", strings.Join(bench.DefaultMatrix, ","), "matrix candidates in order of preference; the first -matrix-size whose warm-up run passes are measured")
	fs.IntVar(&cfg.MatrixSize, "matrix-size", bench.DefaultMatrixN, "kernels in the matrix")
	only := fs.String("only", "", "run only these sections (comma-separated)")
	skip := fs.String("skip", "", "skip these sections (comma-separated)")
	cold := fs.Bool("cold", false, "also measure a cold start from empty caches (downloads a kernel, builds u-root; minutes)")
	makeTest := fs.Bool("maketest", false, "also time make test once (minutes)")
	arch := fs.Bool("arch", false, "also measure the whole suite per guest architecture (-arch-kernels; minutes under TCG)")
	archKernels := fs.String("arch-kernels", strings.Join(bench.DefaultArchKernels, ","), "kernels of the arch section, one per architecture; the first amd64 one is the baseline")
	fs.StringVar(&cfg.GuestBenchTime, "benchtime", "1s", "-benchtime of the guest benchmarks")
	fs.StringVar(&cfg.HostBenchTime, "host-benchtime", "", "-benchtime of the host benchmarks (default go test's)")
	fs.IntVar(&cfg.CPUs, "cpus", 0, "guest CPUs, as cnvmtest run -cpus (default: as cnvmtest run)")
	fs.IntVar(&cfg.MemoryMB, "mem", 0, "guest memory in MiB, as cnvmtest run -mem (default: as cnvmtest run)")
	fs.StringVar(&cfg.Accel, "accel", envOr("CNVMTEST_ACCEL", "auto"), "accelerator: auto, kvm or tcg")
	out := fs.String("o", "", "JSON report (default out/bench/bench-DATE.json)")
	compare := fs.String("compare", "", "an older JSON report to compare with")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the run directories of passing runs too")
	quiet := fs.Bool("q", false, "no progress on stderr (it still goes to the log beside the report, with every run's -v output)")
	repo := fs.String("repo", "", "cnvmtest source tree (default: found from the working directory)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	if *compare != "" && fs.NArg() == 1 {
		return compareReports(*compare, fs.Arg(0), stdout, stderr)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cnvmtest bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var old *bench.Report
	if *compare != "" {
		var err error
		if old, err = bench.ReadReport(*compare); err != nil {
			fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
			return 2
		}
	}
	sections, err := pickSections(*only, *skip, map[string]bool{bench.SectionCold: *cold, bench.SectionArch: *arch, bench.SectionMakeTest: *makeTest})
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 2
	}
	cfg.Sections = sections
	cfg.Kernels = splitList(*kernels)
	cfg.Matrix = splitList(*matrix)
	cfg.ArchKernels = splitList(*archKernels)
	if cfg.Repo, err = findRepo(*repo); err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 2
	}
	if cfg.Exe, err = os.Executable(); err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 2
	}
	cfg.WorkDir = filepath.Join(cfg.Repo, "out", "bench")
	if *out == "" {
		*out = filepath.Join(cfg.WorkDir, "bench-"+time.Now().Format("20060102-150405")+".json")
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 1
	}
	logPath := strings.TrimSuffix(*out, ".json") + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 1
	}
	defer logFile.Close()
	cfg.Log, cfg.RunLog = logFile, logFile
	if !*quiet {
		cfg.Log = io.MultiWriter(logFile, stderr)
	}
	cfg.Command = "cnvmtest bench " + strings.Join(args, " ")

	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 1
	}
	if err := rep.Write(*out); err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: writing the report: %v\n", err)
		return 1
	}
	rep.WriteTable(stdout)
	fmt.Fprintf(stdout, "\nreport: %s\nlog:    %s\n", *out, logPath)
	if old != nil {
		fmt.Fprintln(stdout)
		bench.Compare(stdout, old, rep)
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

func compareReports(oldPath, newPath string, stdout, stderr io.Writer) int {
	old, err := bench.ReadReport(oldPath)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 2
	}
	cur, err := bench.ReadReport(newPath)
	if err != nil {
		fmt.Fprintf(stderr, "cnvmtest bench: %v\n", err)
		return 2
	}
	bench.Compare(stdout, old, cur)
	return 0
}

// pickSections applies -only, -skip and the opt-in sections' flags
// (asked: -cold, -arch, -maketest) to the sections.
func pickSections(only, skip string, asked map[string]bool) ([]string, error) {
	sections := slices.DeleteFunc(slices.Clone(bench.AllSections), func(s string) bool {
		return bench.OptIn(s) && !asked[s]
	})
	if only != "" {
		sections = splitList(only)
	}
	for _, s := range splitList(skip) {
		sections = slices.DeleteFunc(sections, func(x string) bool { return x == s })
	}
	for _, s := range sections {
		if !slices.Contains(bench.AllSections, s) {
			return nil, fmt.Errorf("unknown section %q: want some of %s", s, strings.Join(bench.AllSections, ", "))
		}
	}
	return sections, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

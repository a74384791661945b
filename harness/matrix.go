// SPDX-License-Identifier: MIT

package harness

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kcov"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/internal/lines"
)

// MatrixResult is one kernel's run in a matrix.
type MatrixResult struct {
	Kernel  string
	Result  *Result
	Err     error
	Elapsed time.Duration
}

// Outcome is the run's outcome, INFRA when the harness failed.
func (m MatrixResult) Outcome() report.Outcome {
	if m.Err != nil || m.Result == nil {
		return report.Infra
	}
	return m.Result.Outcome
}

// MatrixParallel is how many guests run at once by default: one per core,
// each with one vCPU, since a TCG vCPU keeps a host core busy. Memory is
// not the limit on the machines this targets (1 GiB per guest).
func MatrixParallel() int {
	return max(1, runtime.NumCPU())
}

// RunMatrix runs o once per kernel, up to parallel at a time. Each run's
// output is printed with the kernel as a prefix as it comes; JUnit reports
// go to one file per kernel beside o.JUnit.
func RunMatrix(ctx context.Context, o Options, kernels []string, parallel int) []MatrixResult {
	if parallel < 1 {
		parallel = MatrixParallel()
	}
	stdout, stderr := o.Stdout, o.Stderr
	var mu sync.Mutex // one writer at a time across runs
	results := make([]MatrixResult, len(kernels))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, k := range kernels {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ko := o // a copy per kernel: Run never writes its options
			ko.Kernel = k
			if ko.CPUs == 0 || parallel > 1 {
				ko.CPUs = 1
			}
			out, errs := prefixWriter(&mu, stdout, "["+k+"] "), prefixWriter(&mu, stderr, "["+k+"] ")
			ko.Stdout, ko.Stderr = out, errs
			if o.JUnit != "" {
				ko.JUnit = junitFor(o.JUnit, k)
			}
			start := time.Now()
			res, err := Run(ctx, ko)
			out.Flush()
			errs.Flush()
			results[i] = MatrixResult{Kernel: k, Result: res, Err: err, Elapsed: time.Since(start)}
			if err != nil {
				mu.Lock()
				fmt.Fprintf(stderr, "[%s] cnvmtest: INFRA: %v\n", k, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return results
}

// junitFor names a kernel's JUnit file: out/junit.xml -> out/junit.debian-6.1.xml.
func junitFor(path, kernel string) string {
	ext := filepath.Ext(path)
	safe := strings.Map(func(r rune) rune {
		if r == ':' || r == '/' || r == ',' || r == '@' || r == ' ' {
			return '-'
		}
		return r
	}, kernel)
	return strings.TrimSuffix(path, ext) + "." + safe + ext
}

// WriteMatrixSummary prints the table of a matrix run.
func WriteMatrixSummary(w io.Writer, results []MatrixResult, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tRELEASE\tARCH\tOUTCOME\tPASSED\tFAILED\tSKIPPED\tTIME")
	var sum time.Duration
	var emulators []string
	for _, m := range results {
		release, arch, passed, failed, skipped := "-", "-", 0, 0, 0
		if r := m.Result; r != nil {
			if r.Kernel != nil {
				release = r.Kernel.Release
			}
			if r.Arch != "" {
				arch = r.Arch
				if e := r.Arch + ": " + r.Emulator; !slices.Contains(emulators, e) {
					emulators = append(emulators, e)
				}
			}
			passed, failed, skipped = r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.1fs\n", m.Kernel, release, arch, m.Outcome(), passed, failed, skipped, m.Elapsed.Seconds())
		sum += m.Elapsed
	}
	tw.Flush()
	for _, e := range emulators {
		fmt.Fprintf(w, "emulator of %s\n", e)
	}
	fmt.Fprintf(w, "matrix: %d kernels in %.1fs wall time (%.1fs of runs added up)\n", len(results), wall.Seconds(), sum.Seconds())
}

// WriteMarkdown writes the results as a Markdown table (for a CI job's
// summary, such as $GITHUB_STEP_SUMMARY), then the tests that did not pass
// with their outcome and reason.
func WriteMarkdown(w io.Writer, results []MatrixResult) {
	fmt.Fprintln(w, "| kernel | release | guest | outcome | passed | failed | skipped | time |")
	fmt.Fprintln(w, "|---|---|---|---|---:|---:|---:|---:|")
	var bad []string
	for _, m := range results {
		release, guest, passed, failed, skipped, reason := "-", "-", 0, 0, 0, ""
		if m.Err != nil {
			reason = m.Err.Error()
		}
		if r := m.Result; r != nil {
			if r.Kernel != nil {
				release = r.Kernel.Release
			}
			if r.Arch != "" {
				guest = r.Arch + " on " + mdEscape(r.Emulator)
			}
			passed, failed, skipped = r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped
			if reason == "" {
				reason = r.Reason
			}
			for _, b := range r.Summary.KnownBugs {
				bad = append(bad, fmt.Sprintf("- `%s` %s", m.Kernel, mdEscape(b.String())))
			}
			for _, t := range r.Tests {
				if t.Outcome.Failed() {
					bad = append(bad, fmt.Sprintf("- `%s` %s: %s %s", m.Kernel, t.Name, t.Outcome, mdEscape(strings.Join(t.Reports, "; "))))
				}
			}
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %d | %d | %d | %.1fs |\n", m.Kernel, release, guest, m.Outcome(), passed, failed, skipped, m.Elapsed.Seconds())
		if m.Outcome() != report.Pass && reason != "" {
			bad = append(bad, fmt.Sprintf("- `%s`: %s", m.Kernel, mdEscape(reason)))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(bad, "\n"))
	}
	fmt.Fprintln(w)
	for _, m := range results {
		if m.Result != nil && m.Result.KernelCoverage != nil {
			fmt.Fprintf(w, "Kernel coverage on `%s`:\n\n", m.Kernel)
			kcov.Summarize(m.Result.KernelCoverage).WriteMarkdown(w)
			fmt.Fprintln(w)
		}
	}
}

func mdEscape(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;").Replace(s)
}

// WorstOutcome is the outcome a matrix exits with: the worst of its runs.
func WorstOutcome(results []MatrixResult) report.Outcome {
	worst := report.Pass
	for _, m := range results {
		if slices.Index(report.Outcomes, m.Outcome()) > slices.Index(report.Outcomes, worst) {
			worst = m.Outcome()
		}
	}
	return worst
}

// prefixWriter prefixes each whole line and writes it under a shared lock,
// so that parallel runs do not interleave within a line.
func prefixWriter(mu *sync.Mutex, w io.Writer, prefix string) *lines.Writer {
	return &lines.Writer{Line: func(line []byte) {
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, prefix)
		w.Write(line)
		io.WriteString(w, "\n")
	}}
}

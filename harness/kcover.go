// SPDX-License-Identifier: MIT

package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kcov"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// Kernel coverage modes (Options.KernelCoverage, -coverage). A kernel
// built with CONFIG_GCOV_KERNEL (debian-src:6.12@coverage) profiles
// drivers/connector, and the module built against it is profiled too; the
// guest runner sends their gcov counters back (guest.EvGcov), and the run
// directory gets coverage.info (an lcov tracefile), html/index.html
// (genhtml), coverage.json (the per-file summary, which the run also
// prints and puts in the JUnit properties) and src/ (the sources the
// tracefile names).
const (
	// KernelCoverageRun collects the counters once, after the tests
	// and the module's unload.
	KernelCoverageRun = "run"
	// KernelCoveragePerTest runs the test binary once per top-level test,
	// resetting the counters before each, and writes tests/NAME.info per
	// test besides; the summary names the lines no test reaches.
	KernelCoveragePerTest = "per-test"
	// KernelCoverageOff collects nothing, even on a gcov kernel.
	KernelCoverageOff = "off"
)

// kernelCoverageMode is the guest's gcov mode for the run on k.
func (r *run) kernelCoverageMode(k *kernel.Kernel) (string, error) {
	mode := r.o.KernelCoverage
	gcov := k.HasGcov()
	switch {
	case mode == KernelCoverageOff || r.shell || len(r.o.Exec) > 0:
		return "", nil
	case mode == "" && !gcov:
		return "", nil
	case !gcov:
		return "", fmt.Errorf("-coverage %s: kernel %s was not built with CONFIG_GCOV_KERNEL; use a coverage kernel such as debian-src:6.12@coverage", mode, k.Summary())
	case k.Gcov == "":
		return "", fmt.Errorf("-coverage: kernel %s has CONFIG_GCOV_KERNEL but no gcov notes kept (only kernels built here with the coverage flavour have them; path: kernels do not)", k.Summary())
	case mode == "":
		mode = KernelCoverageRun
	}
	if mode == KernelCoveragePerTest {
		return guest.GcovPerTest, nil
	}
	return guest.GcovRun, nil
}

// kernelCoverage turns the counters the guest sent into the run's
// coverage report. A failure is reported and fails no test: the tests'
// results stand on their own.
func (r *run) kernelCoverage(ctx context.Context, s *stream, rec *report.Recorder) {
	records := s.all(guest.EvGcov)
	if len(records) == 0 {
		if r.boot != nil && r.boot.kernel.HasGcov() && r.o.KernelCoverage != KernelCoverageOff && len(r.o.Exec) == 0 {
			fmt.Fprintf(r.o.Stderr, "cnvmtest: kernel coverage: the guest sent no gcov counters (did the runner finish? see the console log)\n")
		}
		return
	}
	var sets []kcov.Set
	for _, rc := range records {
		if len(sets) == 0 || sets[len(sets)-1].Label != rc.Test {
			sets = append(sets, kcov.Set{Label: rc.Test})
		}
		last := &sets[len(sets)-1]
		last.Counters = append(last.Counters, kcov.Counter{Name: rc.Name, Data: rc.Data})
	}
	in := kcov.Inputs{Kernel: r.boot.kernel.Gcov, Module: filepath.Dir(r.res.Module), ModuleName: "kmod"}
	if r.o.KmodDir != "" {
		in.ModuleName = filepath.Base(r.o.KmodDir)
	}
	rep, err := kcov.Make(ctx, r.res.RunDir, in, sets)
	if err != nil {
		fmt.Fprintf(r.o.Stderr, "cnvmtest: kernel coverage: %v\n", err)
		return
	}
	r.res.KernelCoverage = rep
	summary := kcov.Summarize(rep)
	if b, err := json.MarshalIndent(summary, "", "  "); err == nil {
		os.WriteFile(filepath.Join(r.res.RunDir, "coverage.json"), append(b, '\n'), 0o644)
	}
	if r.o.JSON {
		var text strings.Builder
		summary.Write(&text)
		for _, line := range strings.SplitAfter(text.String(), "\n") {
			if line != "" {
				rec.Event(report.Event{Action: "output", Package: r.testsImport, Output: line})
			}
		}
	}
}

// printKernelCoverage prints the run's kernel coverage summary.
func printKernelCoverage(w io.Writer, rep *kcov.Report) {
	if rep == nil {
		return
	}
	kcov.Summarize(rep).Write(w)
}

// kernelCoverageProps are the JUnit properties of the kernel coverage:
// coverage.FILE.lines, .functions and .branches, and where the report is.
func kernelCoverageProps(rep *kcov.Report) map[string]string {
	props := map[string]string{}
	if rep == nil {
		return props
	}
	props["coverage.info"] = rep.Info
	props["coverage.html"] = rep.HTML
	for _, f := range rep.Files {
		props["coverage."+f.Name+".lines"] = f.Lines.String()
		props["coverage."+f.Name+".functions"] = f.Functions.String()
		props["coverage."+f.Name+".branches"] = f.Branches.String()
	}
	return props
}

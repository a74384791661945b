// SPDX-License-Identifier: MIT

package report

import (
	"fmt"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// TestResult is what a run says about one test or subtest.
type TestResult struct {
	Name    string
	Package string
	// Outcome is PASS, FAIL or SKIP as the test reported, the outcome
	// given by Attach, or the one Finish gave a test that never finished.
	// It is empty for a test still running.
	Outcome Outcome
	Elapsed time.Duration
	// Output is everything test2json attributed to the test, framing
	// lines ("=== RUN", "--- FAIL") included.
	Output string
	// KernelLog is the kernel console attached to the test.
	KernelLog string
	// Reports are the reasons attached to the test, such as the titles
	// of kernel splats, and the reason Finish closed it for.
	Reports []string
}

// Results returns the results of all tests seen so far, in the order they
// started.
func (r *Recorder) Results() []TestResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := make([]TestResult, 0, len(r.order))
	for _, t := range r.order {
		res = append(res, t.resultOf())
	}
	return res
}

func (t *test) resultOf() TestResult {
	reports := append([]string(nil), t.attach.reports...)
	if t.closedBy != "" {
		reports = append(reports, t.closeWhy)
	}
	return TestResult{
		Name:      t.name,
		Package:   t.pkg,
		Outcome:   t.outcome(),
		Elapsed:   time.Duration(math.Round(t.elapsed * float64(time.Second))),
		Output:    t.output.String(),
		KernelLog: t.attach.kernelLog.String(),
		Reports:   reports,
	}
}

// RunSummary sums up a run.
type RunSummary struct {
	// Outcome is the run's overall outcome: the worst of the tests'
	// outcomes, the packages' and what Attach and Finish said of the run.
	// A run in which no test passed or failed tested nothing and is SKIP.
	Outcome Outcome
	// Reason says why Outcome is not PASS.
	Reason string
	// Tests counts tests and subtests; Passed, Failed and Skipped split
	// them by outcome. A test still running is in none of the three.
	Tests, Passed, Failed, Skipped int
	// Unfinished names the tests that started and never reported a
	// result, whether still running or closed by Finish. A benchmark
	// reports its result by its result line, or by its package passing.
	Unfinished []string
	// Started is the time of the first event; Elapsed the time the
	// packages' test binaries took, or the span of the events.
	Started time.Time
	Elapsed time.Duration
	// KernelLog and Reports are what was attached to the run itself,
	// and the reason Finish gave for an outcome such as KERNEL_PANIC.
	KernelLog string
	Reports   []string
	// KnownBugs are the known kernel bugs the tests observed.
	KnownBugs []KnownBug
}

// KnownBug is a known kernel bug a test observed and passed with: the
// test logged a line with guest.KnownBugPrefix.
type KnownBug struct {
	// ID names the bug (docs/connector.md, Known kernel bugs).
	ID string
	// Test is the test that saw it; Text what it saw.
	Test, Text string
}

func (b KnownBug) String() string {
	return fmt.Sprintf("%s%s (%s): %s", guest.KnownBugPrefix, b.ID, b.Test, b.Text)
}

// ExitCode is the exit code of the run's outcome.
func (s RunSummary) ExitCode() int { return s.Outcome.ExitCode() }

// String returns a one-line summary, such as
// "FAIL (exit 1): 12 tests, 9 passed, 2 failed, 1 skipped in 3.2s: TestX failed".
func (s RunSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (exit %d): %d tests, %d passed, %d failed, %d skipped",
		s.Outcome, s.ExitCode(), s.Tests, s.Passed, s.Failed, s.Skipped)
	if n := len(s.Unfinished); n > 0 {
		fmt.Fprintf(&b, ", %d unfinished", n)
	}
	fmt.Fprintf(&b, " in %s", s.Elapsed.Round(100*time.Millisecond))
	if s.Reason != "" {
		b.WriteString(": " + s.Reason)
	}
	return b.String()
}

// Summary sums up the run so far. Before Finish, tests still running count
// as failures for the outcome (the run is not over), and are listed in
// Unfinished.
func (r *Recorder) Summary() RunSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := RunSummary{
		Started:   r.firstTime,
		KernelLog: r.run.kernelLog.String(),
		Reports:   append([]string(nil), r.run.reports...),
		KnownBugs: slices.Clone(r.knownBugs),
	}
	if r.finished.Failed() && r.finished != Fail && r.finishWhy != "" && !slices.Contains(s.Reports, r.finishWhy) && !r.shownByTest(r.finished) {
		// A failure of the run itself, such as a panic, that no test
		// shows: a report of it.
		s.Reports = append(s.Reports, r.finishWhy)
	}
	var v verdict
	v.add(r.finished, r.finishWhy)
	if reports := strings.Join(r.run.reports, "; "); reports != r.finishWhy || r.run.outcome != r.finished {
		v.add(r.run.outcome, reports)
	}
	for _, name := range slices.Sorted(maps.Keys(r.pending)) {
		// Attached to a test that never showed up: it belongs to the run.
		a := r.pending[name]
		s.KernelLog += a.kernelLog.String()
		for _, rep := range a.reports {
			s.Reports = append(s.Reports, name+": "+rep)
		}
		v.add(a.outcome, name+": "+strings.Join(a.reports, "; "))
	}
	leavesRun := 0
	pkgFailures := make(map[string]int)
	for _, t := range r.order {
		s.Tests++
		o := t.outcome()
		switch {
		case o == Pass:
			s.Passed++
		case o == Skip:
			s.Skipped++
		case o.Failed():
			s.Failed++
			pkgFailures[t.pkg]++
		}
		if !t.done() || t.closedBy != "" {
			s.Unfinished = append(s.Unfinished, t.name)
		}
		if len(t.children) == 0 && (o == Pass || o.Failed()) {
			leavesRun++
		}
		switch {
		case !t.done():
			v.add(Fail, t.name+" did not finish")
		case o.Failed() && !(t.attach.outcome == "" && t.hasFailingChild()):
			// A parent failing only because a subtest failed adds nothing.
			v.add(o, t.describe())
		}
	}
	var elapsed float64
	allDone := len(r.pkgList) > 0
	for _, p := range r.pkgList {
		switch p.action {
		case actionFail:
			if pkgFailures[p.name] == 0 {
				// No test explains it: TestMain or the binary failed.
				v.add(Fail, "package "+p.name+" failed")
			}
		case "":
			allDone = false
			v.add(Fail, "package "+p.name+" did not finish")
		}
		elapsed += p.elapsed
	}
	if allDone {
		s.Elapsed = time.Duration(math.Round(elapsed * float64(time.Second)))
	} else {
		s.Elapsed = r.lastTime.Sub(r.firstTime)
	}
	s.Outcome, s.Reason = v.result()
	if s.Outcome == Pass && leavesRun == 0 {
		s.Outcome = Skip
		s.Reason = "no tests ran"
		if s.Tests > 0 {
			s.Reason = fmt.Sprintf("all %d tests skipped", s.Tests)
		}
	}
	return s
}

func (t *test) hasFailingChild() bool {
	for _, c := range t.children {
		if c.outcome().Failed() {
			return true
		}
	}
	return false
}

// describe says why a failed test failed.
func (t *test) describe() string {
	s := t.name
	switch {
	case t.closedBy != "":
		s += " did not finish"
	case t.action == actionFail:
		s += " failed"
	case len(t.attach.reports) == 0:
		s += ": " + string(t.outcome())
	}
	if len(t.attach.reports) > 0 {
		s += ": " + strings.Join(t.attach.reports, "; ")
	}
	return s
}

// verdict collects candidate outcomes and keeps the worst with its reasons.
type verdict struct {
	outcome Outcome
	reasons []string
}

const maxReasons = 3

func (v *verdict) add(o Outcome, reason string) {
	if o == "" {
		return
	}
	switch {
	case o.severity() > v.outcome.severity():
		v.outcome, v.reasons = o, nil
	case o != v.outcome:
		return
	}
	if reason != "" {
		v.reasons = append(v.reasons, reason)
	}
}

func (v *verdict) result() (Outcome, string) {
	if v.outcome == "" || v.outcome == Pass {
		return Pass, ""
	}
	reasons := v.reasons
	more := ""
	if len(reasons) > maxReasons {
		more = fmt.Sprintf(" (and %d more)", len(reasons)-maxReasons)
		reasons = reasons[:maxReasons]
	}
	return v.outcome, strings.Join(reasons, "; ") + more
}

// shownByTest reports whether some test ended with outcome o, so that the
// run's failure is already visible where it happened.
func (r *Recorder) shownByTest(o Outcome) bool {
	for _, t := range r.order {
		if t.outcome() == o {
			return true
		}
	}
	return false
}

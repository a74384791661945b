// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

// Attempt is one run of the suite on a version.
type Attempt struct {
	Outcome report.Outcome `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	Elapsed time.Duration  `json:"elapsed"`
}

func (a Attempt) String() string {
	s := fmt.Sprintf("%s in %.1fs", a.Outcome, a.Elapsed.Seconds())
	if a.Reason != "" {
		s += ": " + firstLine(a.Reason)
	}
	return s
}

// firstLine shortens a reason to its first line: reasons can carry a
// compiler's or apt's output, and the log wants one line.
func firstLine(reason string) string {
	line, _, cut := strings.Cut(reason, "\n")
	if cut {
		line += " …"
	}
	return line
}

// Step is the judgement of one version from its attempts.
type Step struct {
	Verdict  Verdict   `json:"verdict"`
	Flaky    bool      `json:"flaky,omitempty"` // attempts both passed and failed
	Attempts []Attempt `json:"attempts"`
	// Untestable says why the version could not be tested at all, when it
	// was skipped without a run (its kernel cannot be had).
	Untestable string `json:"untestable,omitempty"`
}

// Judge decides a version's verdict from its attempts: good when every
// attempt that could test it passed, bad when every one failed, and for a
// mix, what policy says. Attempts that could not test the version count
// for neither; with none left, the version is skipped.
func Judge(attempts []Attempt, policy FlakyPolicy) Step {
	s := Step{Attempts: attempts}
	good, bad := s.count(Good), s.count(Bad)
	switch {
	case good == 0 && bad == 0:
		s.Verdict = Skip
	case bad == 0:
		s.Verdict = Good
	case good == 0:
		s.Verdict = Bad
	default:
		s.Flaky = true
		s.Verdict = Bad
		if policy == FlakySkip {
			s.Verdict = Skip
		}
	}
	return s
}

func (s Step) count(v Verdict) int {
	n := 0
	for _, a := range s.Attempts {
		if OutcomeVerdict(a.Outcome) == v {
			n++
		}
	}
	return n
}

// String says what the step decided and why:
// "good: PASS 3/3", "bad: FAIL 2/3, TIMEOUT 1/3",
// "flaky 1/3, counted bad: PASS 2/3, FAIL 1/3", "skip: MODULE_BUILD_FAIL 1/1",
// "skip: untestable: kernel debian:6.1.170-1: …".
func (s Step) String() string {
	head := s.Verdict.String()
	if s.Untestable != "" && len(s.Attempts) == 0 {
		return head + ": untestable: " + firstLine(s.Untestable)
	}
	if s.Flaky {
		head = fmt.Sprintf("flaky %d/%d, counted %s", s.count(Bad), len(s.Attempts), s.Verdict)
	}
	return head + ": " + tally(s.Attempts)
}

// tally counts attempts by outcome, best outcome first.
func tally(attempts []Attempt) string {
	counts := map[report.Outcome]int{}
	var order []report.Outcome
	for _, a := range attempts {
		if counts[a.Outcome] == 0 {
			order = append(order, a.Outcome)
		}
		counts[a.Outcome]++
	}
	rank := func(o report.Outcome) int {
		if i := slices.Index(report.Outcomes, o); i >= 0 {
			return i
		}
		return len(report.Outcomes)
	}
	slices.SortStableFunc(order, func(a, b report.Outcome) int { return rank(a) - rank(b) })
	parts := make([]string, len(order))
	for i, o := range order {
		parts[i] = fmt.Sprintf("%s %d/%d", o, counts[o], len(attempts))
	}
	if len(parts) == 0 {
		return "not run"
	}
	return strings.Join(parts, ", ")
}

// Repeat runs attempt up to n times and judges the attempts with policy.
// It stops after the first attempt when that one could not test the
// version: a module or kernel that does not build, or a kernel that does
// not boot, fails the same way again, and each try can cost minutes. An
// attempt cut short by ctx says nothing about the version, so Repeat then
// returns ctx's error.
func Repeat(ctx context.Context, n int, policy FlakyPolicy, attempt func(ctx context.Context, i int) Attempt) (Step, error) {
	n = max(n, 1)
	var attempts []Attempt
	for i := range n {
		if err := ctx.Err(); err != nil {
			return Step{}, err
		}
		a := attempt(ctx, i)
		if err := ctx.Err(); err != nil {
			return Step{}, err
		}
		attempts = append(attempts, a)
		if i == 0 && OutcomeVerdict(a.Outcome) == Skip {
			break
		}
	}
	return Judge(attempts, policy), nil
}

// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

// RunFunc runs the guest suite once with args, the run flags as cnvmtest
// run takes them, and returns the run's outcome and the reason for it. A
// run the harness could not carry out is an outcome (report.Infra), which
// cannot test the version; an error means the run could not even be set up
// (flags that do not parse) and stops the bisection.
//
// The cnvmtest command supplies one that parses the flags and calls
// harness.Run; tests supply fakes.
type RunFunc func(ctx context.Context, args []string) (report.Outcome, string, error)

// Stepper runs bisection steps: the suite Repeat times on a version,
// judged with Policy.
type Stepper struct {
	Run RunFunc
	// Args are the run flags of every run, as the user gave them.
	Args   []string
	Repeat int
	Policy FlakyPolicy
	// Out gets a line per attempt and one with the step's verdict.
	Out io.Writer
}

// Step runs the suite on the version called label, with extra run flags
// after Args (a later flag wins: "-kernel", "debian:6.12.95-1"). It
// returns an error when a run could not be set up or ctx ended.
func (s Stepper) Step(ctx context.Context, label string, extra ...string) (Step, error) {
	out := s.Out
	if out == nil {
		out = io.Discard
	}
	args := append(slices.Clip(s.Args), extra...)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	step, err := Repeat(ctx, s.Repeat, s.Policy, func(ctx context.Context, i int) Attempt {
		start := time.Now()
		outcome, reason, err := s.Run(ctx, args)
		if err != nil {
			cancel(err) // Repeat returns at once, with ctx's error
			return Attempt{}
		}
		a := Attempt{Outcome: outcome, Reason: reason, Elapsed: time.Since(start)}
		fmt.Fprintf(out, "cnvmtest bisect: %s: attempt %d/%d: %s\n", label, i+1, max(s.Repeat, 1), a)
		return a
	})
	if err != nil {
		return step, context.Cause(ctx)
	}
	fmt.Fprintf(out, "cnvmtest bisect: %s: %s\n", label, step)
	return step, nil
}

// untestable is the step of a version that cannot be tested at all, such
// as a Debian kernel whose packages the archive no longer has.
func (s Stepper) untestable(label, reason string) Step {
	st := Step{Verdict: Skip, Untestable: reason}
	if s.Out != nil {
		fmt.Fprintf(s.Out, "cnvmtest bisect: %s: %s\n", label, st)
	}
	return st
}

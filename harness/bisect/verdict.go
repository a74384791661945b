// SPDX-License-Identifier: MIT

package bisect

import (
	"fmt"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

// Verdict is what a bisection step says about a version.
type Verdict int

const (
	Good Verdict = iota // the version does not have the regression
	Bad                 // the version has it
	Skip                // the version cannot be tested
)

// The exit codes of a step, as git bisect run reads them.
const (
	ExitGood = 0
	ExitBad  = 1
	ExitSkip = 125
	// ExitAbort stops git bisect run: the step could not run at all, so
	// it says nothing about the commit. git aborts on any code above 127.
	ExitAbort = 128
)

// ExitCode is the exit status git bisect run reads for v.
func (v Verdict) ExitCode() int {
	switch v {
	case Good:
		return ExitGood
	case Bad:
		return ExitBad
	}
	return ExitSkip
}

var verdictNames = [...]string{Good: "good", Bad: "bad", Skip: "skip"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// MarshalText writes the verdict as git bisect names it.
func (v Verdict) MarshalText() ([]byte, error) {
	if v < 0 || int(v) >= len(verdictNames) {
		return nil, fmt.Errorf("bisect: invalid verdict %d", int(v))
	}
	return []byte(verdictNames[v]), nil
}

// UnmarshalText reads good, bad or skip.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, name := range verdictNames {
		if string(b) == name {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("bisect: unknown verdict %q: want good, bad or skip", b)
}

// OutcomeVerdict maps a run's outcome to a verdict. Outcomes that say the
// tests did not run as intended (the module did not build or load, the
// kernel did not boot, the host failed, nothing was tested) cannot tell a
// good version from a bad one. An unknown outcome is treated the same way.
func OutcomeVerdict(o report.Outcome) Verdict {
	switch o {
	case report.Pass:
		return Good
	case report.Fail, report.KernelSplat, report.Timeout, report.KernelPanic:
		return Bad
	}
	return Skip
}

// FlakyPolicy decides the verdict of a version whose attempts disagree.
type FlakyPolicy int

const (
	// FlakyBad counts a flaky version as bad: the regression bisected
	// may itself be intermittent.
	FlakyBad FlakyPolicy = iota
	// FlakySkip counts it as untestable, so git bisect looks around it.
	FlakySkip
)

// ParseFlakyPolicy reads "bad" or "skip".
func ParseFlakyPolicy(s string) (FlakyPolicy, error) {
	switch s {
	case "bad":
		return FlakyBad, nil
	case "skip":
		return FlakySkip, nil
	}
	return 0, fmt.Errorf("unknown flaky policy %q: want bad or skip", s)
}

// Set reads "bad" or "skip": a *FlakyPolicy is a flag.Value.
func (p *FlakyPolicy) Set(s string) error {
	v, err := ParseFlakyPolicy(s)
	if err == nil {
		*p = v
	}
	return err
}

func (p FlakyPolicy) String() string {
	if p == FlakySkip {
		return "skip"
	}
	return "bad"
}

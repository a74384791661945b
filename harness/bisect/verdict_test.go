// SPDX-License-Identifier: MIT

package bisect

import (
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/report"
)

func TestOutcomeVerdict(t *testing.T) {
	want := map[report.Outcome]Verdict{
		report.Pass:            Good,
		report.Fail:            Bad,
		report.KernelSplat:     Bad,
		report.Timeout:         Bad,
		report.KernelPanic:     Bad,
		report.Skip:            Skip,
		report.ModuleBuildFail: Skip,
		report.ModuleLoadFail:  Skip,
		report.BootFail:        Skip,
		report.Infra:           Skip,
		"":                     Skip,
		"SOMETHING_NEW":        Skip,
	}
	for _, o := range report.Outcomes {
		if _, ok := want[o]; !ok {
			t.Errorf("outcome %s has no expected verdict: add it to this table", o)
		}
	}
	for o, v := range want {
		if got := OutcomeVerdict(o); got != v {
			t.Errorf("OutcomeVerdict(%q) = %s, want %s", o, got, v)
		}
	}
}

func TestVerdictExitCodes(t *testing.T) {
	// git bisect run: 0 good, 1..127 but 125 bad, 125 skip, above 127 abort.
	for v, code := range map[Verdict]int{Good: 0, Bad: 1, Skip: 125} {
		if got := v.ExitCode(); got != code {
			t.Errorf("%s.ExitCode() = %d, want %d", v, got, code)
		}
	}
	if ExitAbort <= 127 {
		t.Errorf("ExitAbort = %d: git bisect run would take it for a verdict", ExitAbort)
	}
}

func TestVerdictText(t *testing.T) {
	for _, v := range []Verdict{Good, Bad, Skip} {
		b, err := v.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", v, err)
		}
		var got Verdict
		if err := got.UnmarshalText(b); err != nil || got != v {
			t.Errorf("round trip of %s: got %s, %v", v, got, err)
		}
	}
	var v Verdict
	if err := v.UnmarshalText([]byte("meh")); err == nil {
		t.Error(`UnmarshalText("meh") succeeded`)
	}
	if _, err := Verdict(7).MarshalText(); err == nil {
		t.Error("MarshalText of Verdict(7) succeeded")
	}
}

func TestParseFlakyPolicy(t *testing.T) {
	for s, want := range map[string]FlakyPolicy{"bad": FlakyBad, "skip": FlakySkip} {
		got, err := ParseFlakyPolicy(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseFlakyPolicy(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseFlakyPolicy("good"); err == nil {
		t.Error(`ParseFlakyPolicy("good") succeeded: a flake is never good`)
	}
}

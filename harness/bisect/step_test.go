// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/google/go-cmp/cmp"
)

func attempts(outcomes ...report.Outcome) []Attempt {
	a := make([]Attempt, len(outcomes))
	for i, o := range outcomes {
		a[i] = Attempt{Outcome: o, Elapsed: 20 * time.Second}
	}
	return a
}

func TestJudge(t *testing.T) {
	const (
		pass  = report.Pass
		fail  = report.Fail
		splat = report.KernelSplat
		infra = report.Infra
		nomod = report.ModuleBuildFail
	)
	tests := []struct {
		name     string
		outcomes []report.Outcome
		policy   FlakyPolicy
		want     Verdict
		flaky    bool
		text     string
	}{
		{"all pass", []report.Outcome{pass, pass, pass}, FlakyBad, Good, false, "good: PASS 3/3"},
		{"all bad, mixed kinds", []report.Outcome{fail, splat, fail}, FlakyBad, Bad, false, "bad: FAIL 2/3, KERNEL_SPLAT 1/3"},
		{"flaky counted bad", []report.Outcome{pass, fail, pass}, FlakyBad, Bad, true, "flaky 1/3, counted bad: PASS 2/3, FAIL 1/3"},
		{"flaky skipped", []report.Outcome{fail, pass, fail}, FlakySkip, Skip, true, "flaky 2/3, counted skip: PASS 1/3, FAIL 2/3"},
		{"untestable", []report.Outcome{nomod}, FlakyBad, Skip, false, "skip: MODULE_BUILD_FAIL 1/1"},
		{"host failure does not count", []report.Outcome{pass, infra, pass}, FlakyBad, Good, false, "good: PASS 2/3, INFRA 1/3"},
		{"bad despite a host failure", []report.Outcome{fail, infra}, FlakySkip, Bad, false, "bad: FAIL 1/2, INFRA 1/2"},
		{"no attempts", nil, FlakyBad, Skip, false, "skip: not run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Judge(attempts(tt.outcomes...), tt.policy)
			if s.Verdict != tt.want || s.Flaky != tt.flaky {
				t.Errorf("Judge(%v, %s) = %s (flaky %v), want %s (flaky %v)", tt.outcomes, tt.policy, s.Verdict, s.Flaky, tt.want, tt.flaky)
			}
			if got := s.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestRepeat(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		outcomes []report.Outcome // what each attempt returns, in order
		want     []report.Outcome // the attempts made
		verdict  Verdict
	}{
		{"three passes", 3, []report.Outcome{report.Pass, report.Pass, report.Pass}, []report.Outcome{report.Pass, report.Pass, report.Pass}, Good},
		{"zero means once", 0, []report.Outcome{report.Fail}, []report.Outcome{report.Fail}, Bad},
		{"stops after a build failure", 3, []report.Outcome{report.ModuleBuildFail, report.Pass, report.Pass}, []report.Outcome{report.ModuleBuildFail}, Skip},
		{"a later host failure does not stop it", 3, []report.Outcome{report.Pass, report.Infra, report.Fail}, []report.Outcome{report.Pass, report.Infra, report.Fail}, Bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []int
			s, err := Repeat(context.Background(), tt.n, FlakyBad, func(_ context.Context, i int) Attempt {
				calls = append(calls, i)
				return Attempt{Outcome: tt.outcomes[i]}
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []report.Outcome
			for _, a := range s.Attempts {
				got = append(got, a.Outcome)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unexpected attempts (-want +got):\n%s", diff)
			}
			if len(calls) != len(tt.want) {
				t.Errorf("attempt called %d times, want %d", len(calls), len(tt.want))
			}
			if s.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s", s.Verdict, tt.verdict)
			}
		})
	}
}

func TestRepeatInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Repeat(ctx, 3, FlakyBad, func(context.Context, int) Attempt {
		n++
		cancel() // the user pressed ^C while the guest ran
		return Attempt{Outcome: report.Infra, Reason: "context canceled"}
	})
	if err != context.Canceled || n != 1 {
		t.Fatalf("Repeat after cancel: err %v after %d attempts, want context.Canceled after 1", err, n)
	}
}

func TestAttemptString(t *testing.T) {
	a := Attempt{Outcome: report.ModuleBuildFail, Reason: "cn_echo.c:12: error\nmore\n", Elapsed: 1500 * time.Millisecond}
	if got, want := a.String(), "MODULE_BUILD_FAIL in 1.5s: cn_echo.c:12: error …"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

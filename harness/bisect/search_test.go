// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/google/go-cmp/cmp"
)

// fakeVersions returns n versions named v0, v1, ...
func fakeVersions(n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("v%d", i)
	}
	return v
}

// regression fakes a suite that fails from version index first on, cannot
// test the versions in untestable, and records what it was asked.
type regression struct {
	versions   []string
	first      int
	untestable map[string]bool
	tested     []string
}

func (r *regression) test(_ context.Context, v string) (Step, error) {
	r.tested = append(r.tested, v)
	o := report.Pass
	switch i := indexOf(r.versions, v); {
	case r.untestable[v]:
		o = report.ModuleBuildFail
	case i >= r.first:
		o = report.Fail
	}
	return Judge([]Attempt{{Outcome: o}}, FlakyBad), nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestSearchFindsEveryRegression(t *testing.T) {
	for n := 2; n <= 33; n++ {
		versions := fakeVersions(n)
		for first := 1; first < n; first++ {
			r := &regression{versions: versions, first: first}
			s := Search{Versions: versions, Good: versions[0], Bad: versions[n-1], Test: r.test}
			res, err := s.Run(context.Background())
			if err != nil {
				t.Fatalf("n=%d first=%d: %v", n, first, err)
			}
			if !res.Found() || res.FirstBad != versions[first] || res.LastGood != versions[first-1] {
				t.Fatalf("n=%d first=%d: found %q after %q (suspects %q), want %q after %q",
					n, first, res.FirstBad, res.LastGood, res.Suspects, versions[first], versions[first-1])
			}
			// Binary search: at most ceil(log2(n-1)) steps for n-2 untested versions.
			if max := bits.Len(uint(n - 2)); len(r.tested) > max {
				t.Errorf("n=%d first=%d: %d steps %q, want at most %d", n, first, len(r.tested), r.tested, max)
			}
			if len(res.Log) != len(r.tested) {
				t.Errorf("log has %d entries for %d tests", len(res.Log), len(r.tested))
			}
		}
	}
}

func TestSearchAroundUntestable(t *testing.T) {
	versions := fakeVersions(10)
	tests := []struct {
		name       string
		first      int
		untestable []string
		firstBad   string
		suspects   []string
	}{
		{"skip the middle, still found", 6, []string{"v4"}, "v6", nil},
		{"skipped version hides the answer", 5, []string{"v4"}, "v5", []string{"v4", "v5"}},
		{"several suspects", 7, []string{"v5", "v6"}, "v7", []string{"v5", "v6", "v7"}},
		{"everything untestable", 3, []string{"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"}, "v9",
			[]string{"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &regression{versions: versions, first: tt.first, untestable: map[string]bool{}}
			for _, v := range tt.untestable {
				r.untestable[v] = true
			}
			s := Search{Versions: versions, Good: "v0", Bad: "v9", Test: r.test}
			res, err := s.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.FirstBad != tt.firstBad {
				t.Errorf("FirstBad = %s, want %s (tested %q)", res.FirstBad, tt.firstBad, r.tested)
			}
			if diff := cmp.Diff(tt.suspects, res.Suspects); diff != "" {
				t.Errorf("unexpected suspects (-want +got):\n%s", diff)
			}
			if res.Found() != (tt.suspects == nil) {
				t.Errorf("Found() = %v with suspects %q", res.Found(), res.Suspects)
			}
		})
	}
}

func TestSearchChecksEnds(t *testing.T) {
	versions := fakeVersions(8)
	tests := []struct {
		name           string
		first          int
		good, bad      bool // check them
		err            error
		tested         []string
		firstBad       string
		wantErrMessage string
	}{
		{"bad end passes", 99, true, true, ErrEnds, []string{"v7"}, "", "bad version v7 tested good"},
		{"good end fails", 0, true, true, ErrEnds, []string{"v7", "v0"}, "", "good version v0 tested bad"},
		{"both hold", 5, true, true, nil, []string{"v7", "v0", "v3", "v5", "v4"}, "v5", ""},
		{"only the bad end is a guess", 5, false, true, nil, []string{"v7", "v3", "v5", "v4"}, "v5", ""},
		{"unchecked ends are trusted", 99, false, false, nil, []string{"v3", "v5", "v6"}, "v7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &regression{versions: versions, first: tt.first}
			s := Search{Versions: versions, Good: "v0", Bad: "v7", CheckGood: tt.good, CheckBad: tt.bad, Test: r.test}
			res, err := s.Run(context.Background())
			if !errors.Is(err, tt.err) || (err != nil && err.Error() != ErrEnds.Error()+": "+tt.wantErrMessage) {
				t.Fatalf("Run() error %v, want %v (%s)", err, tt.err, tt.wantErrMessage)
			}
			if diff := cmp.Diff(tt.tested, r.tested); diff != "" {
				t.Errorf("unexpected versions tested (-want +got):\n%s", diff)
			}
			if res.FirstBad != tt.firstBad {
				t.Errorf("FirstBad = %q, want %q", res.FirstBad, tt.firstBad)
			}
		})
	}
}

func TestSearchBadArguments(t *testing.T) {
	versions := fakeVersions(4)
	never := func(context.Context, string) (Step, error) {
		t.Fatal("Test called for a search that cannot start")
		return Step{}, nil
	}
	for _, s := range []Search{
		{Versions: versions, Good: "v9", Bad: "v3"},
		{Versions: versions, Good: "v0", Bad: "v9"},
		{Versions: versions, Good: "v3", Bad: "v1"},
		{Versions: versions, Good: "v2", Bad: "v2"},
	} {
		s.Test = never
		if _, err := s.Run(context.Background()); err == nil {
			t.Errorf("Search good %s bad %s: no error", s.Good, s.Bad)
		}
	}
}

func TestSearchStopsOnError(t *testing.T) {
	versions := fakeVersions(8)
	boom := errors.New("interrupted")
	n := 0
	s := Search{Versions: versions, Good: "v0", Bad: "v7", Test: func(context.Context, string) (Step, error) {
		if n++; n == 2 {
			return Step{}, boom
		}
		return Judge([]Attempt{{Outcome: report.Pass}}, FlakyBad), nil
	}}
	res, err := s.Run(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Run() error %v, want %v", err, boom)
	}
	if len(res.Log) != 1 {
		t.Errorf("the log of a failed search has %d entries, want the 1 made before the error", len(res.Log))
	}
}

func TestPick(t *testing.T) {
	tests := []struct {
		lo, hi  int
		skipped []int
		want    int
	}{
		{0, 1, nil, -1},
		{0, 2, nil, 1},
		{0, 9, nil, 4},
		{0, 9, []int{4}, 3},
		{0, 9, []int{3, 4}, 5},
		{0, 9, []int{1, 2, 3, 4, 5, 6, 7}, 8},
		{0, 9, []int{1, 2, 3, 4, 5, 6, 7, 8}, -1},
		{3, 5, nil, 4},
	}
	for _, tt := range tests {
		skipped := map[int]bool{}
		for _, i := range tt.skipped {
			skipped[i] = true
		}
		if got := pick(tt.lo, tt.hi, skipped); got != tt.want {
			t.Errorf("pick(%d, %d, %v) = %d, want %d", tt.lo, tt.hi, tt.skipped, got, tt.want)
		}
	}
}

// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrEnds is returned, wrapped, when the good and bad versions of a search
// do not bracket a regression: the good one fails, the bad one passes, or
// one of them cannot be tested.
var ErrEnds = errors.New("the good and bad versions do not bracket a regression")

// Entry is one version tested during a bisection.
type Entry struct {
	Version string `json:"version"`
	// Title describes the version, such as a commit's subject.
	Title string `json:"title,omitempty"`
	Step  Step   `json:"step"`
}

// Search bisects an ordered list of versions.
type Search struct {
	// Versions are ordered oldest first.
	Versions []string
	// Good and Bad are versions known to be good and bad, Good before Bad.
	Good, Bad string
	// CheckGood and CheckBad test Good and Bad before bisecting, for
	// endpoints that are guesses rather than knowledge.
	CheckGood, CheckBad bool
	// Test runs the suite on one version. An error stops the search.
	Test func(ctx context.Context, version string) (Step, error)
}

// Result is what a search found.
type Result struct {
	// Log holds each version tested, in the order tested.
	Log []Entry
	// LastGood and FirstBad bound the regression: the newest version
	// found good and the oldest found bad.
	LastGood, FirstBad string
	// Suspects are set when versions that could not be tested lie between
	// LastGood and FirstBad: the regression came with one of them or with
	// FirstBad, which ends the list. Empty when FirstBad is the answer.
	Suspects []string
}

// Found reports whether the search named one first bad version.
func (r *Result) Found() bool { return r.FirstBad != "" && len(r.Suspects) == 0 }

// Run bisects. It returns the result so far along with any error, so that
// the log of a search that failed can still be printed.
func (s *Search) Run(ctx context.Context) (*Result, error) {
	res := &Result{}
	lo, hi := slices.Index(s.Versions, s.Good), slices.Index(s.Versions, s.Bad)
	switch {
	case lo < 0:
		return res, fmt.Errorf("good version %s is not among the versions", s.Good)
	case hi < 0:
		return res, fmt.Errorf("bad version %s is not among the versions", s.Bad)
	case lo >= hi:
		return res, fmt.Errorf("good version %s is not older than bad version %s", s.Good, s.Bad)
	}
	test := func(i int) (Verdict, error) {
		st, err := s.Test(ctx, s.Versions[i])
		if err != nil {
			return 0, fmt.Errorf("testing %s: %w", s.Versions[i], err)
		}
		res.Log = append(res.Log, Entry{Version: s.Versions[i], Step: st})
		return st.Verdict, nil
	}
	if err := s.checkEnds(test, lo, hi); err != nil {
		return res, err
	}

	skipped := map[int]bool{}
	for i := pick(lo, hi, skipped); i >= 0; i = pick(lo, hi, skipped) {
		v, err := test(i)
		if err != nil {
			return res, err
		}
		switch v {
		case Good:
			lo = i
		case Bad:
			hi = i
		default:
			skipped[i] = true
		}
	}
	res.LastGood, res.FirstBad = s.Versions[lo], s.Versions[hi]
	for i := lo + 1; i < hi; i++ {
		res.Suspects = append(res.Suspects, s.Versions[i]) // all skipped, or pick would have found one
	}
	if len(res.Suspects) > 0 {
		res.Suspects = append(res.Suspects, s.Versions[hi])
	}
	return res, nil
}

// checkEnds tests the endpoints the caller only guessed, the bad one first:
// a bad version that passes makes the good one moot.
func (s *Search) checkEnds(test func(int) (Verdict, error), lo, hi int) error {
	ends := []struct {
		check bool
		i     int
		want  Verdict
	}{{s.CheckBad, hi, Bad}, {s.CheckGood, lo, Good}}
	for _, e := range ends {
		if !e.check {
			continue
		}
		v, err := test(e.i)
		if err != nil {
			return err
		}
		if v != e.want {
			return fmt.Errorf("%w: %s version %s tested %s", ErrEnds, e.want, s.Versions[e.i], v)
		}
	}
	return nil
}

// pick returns the index strictly between lo and hi nearest their middle
// that is not skipped, or -1 when there is none: git bisect likewise steps
// around commits it cannot test.
func pick(lo, hi int, skipped map[int]bool) int {
	mid := lo + (hi-lo)/2
	for d := 0; mid-d > lo || mid+d < hi; d++ {
		for _, i := range []int{mid - d, mid + d} {
			if lo < i && i < hi && !skipped[i] {
				return i
			}
		}
	}
	return -1
}

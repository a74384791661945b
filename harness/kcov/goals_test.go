// SPDX-License-Identifier: MIT

package kcov

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const goalSrc = `static int f(int x)
{
	if (x)
		return 1;
	return 2;
}

static void fini(void)
{
	x = 0;
}
`

func TestExclusionsAndGoal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.c")
	os.WriteFile(path, []byte(goalSrc), 0o644)
	f := &FileCoverage{Path: path, Name: "drivers/connector/c.c", Hits: map[int]int64{1: 1, 3: 1, 4: 0, 5: 1, 8: 0, 10: 0}}
	excl, stale, err := applyExclusions(f, []Exclusion{
		{File: f.Name, Function: "fini", Why: "never"},
		{File: f.Name, Function: "f", Lines: []string{"if (x)", "return 1;"}, Why: "x is 0"},
		{File: f.Name, Function: "gone", Why: "moved"},
		{File: "other.c", Function: "f", Why: "another file"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(excl) != 2 || !slices.Equal(excl[0].Lines, []int{8, 10}) || !slices.Equal(excl[1].Lines, []int{3, 4}) {
		t.Errorf("excluded %+v, want fini's 8 and 10, then f's 3 and 4", excl)
	}
	if len(stale) != 1 || !strings.Contains(stale[0], "gone") {
		t.Errorf("stale %q, want the one for gone", stale)
	}
	old := Goals
	t.Cleanup(func() { Goals = old })
	Goals = []Goal{{File: f.Name, Percent: 100}}
	g := goalFor(f, excl)
	if g == nil || g.Counted != (Count{Hit: 2, Found: 2}) || !g.Met || len(g.Gap) != 0 {
		t.Errorf("goal %+v, want 2 of 2 counted lines, met", g)
	}
	g = goalFor(f, excl[:1])
	if g.Met || !slices.Equal(g.Gap, []int{4}) {
		t.Errorf("without f's exclusion: goal %+v, want not met, gap [4]", g)
	}
}

// SPDX-License-Identifier: MIT

package kcov

import (
	"bytes"
	"strings"
	"testing"
)

func TestRanges(t *testing.T) {
	for _, tt := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{7}, "7"},
		{[]int{3, 4, 5, 9, 11, 12}, "3-5, 9, 11-12"},
	} {
		if got := Ranges(tt.in); got != tt.want {
			t.Errorf("Ranges(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func file(name string, hits map[int]int64) *FileCoverage {
	f := &FileCoverage{Name: name, Hits: hits}
	f.Lines.Found = len(hits)
	for _, n := range hits {
		if n > 0 {
			f.Lines.Hit++
		}
	}
	return f
}

// Per test, the lines only the setup ran are named apart from the lines
// that never ran.
func TestSummarizePerTest(t *testing.T) {
	rep := &Report{
		Lcov:  "LCOV version 1.16",
		HTML:  "/run/html/index.html",
		Files: []*FileCoverage{file("drivers/connector/connector.c", map[int]int64{1: 3, 2: 1, 3: 0, 4: 2})},
		Tests: []TestTrace{
			{Label: "(setup)", Files: []*FileCoverage{file("drivers/connector/connector.c", map[int]int64{1: 1, 2: 1, 3: 0, 4: 0})}},
			{Label: "TestA", Files: []*FileCoverage{file("drivers/connector/connector.c", map[int]int64{1: 2, 2: 0, 3: 0, 4: 2})}},
		},
	}
	s := Summarize(rep)
	f := s.Files[0]
	if Ranges(f.NotRun) != "3" || Ranges(f.NoTest) != "2-3" {
		t.Errorf("not run %v, no test %v; want [3] and [2 3]", f.NotRun, f.NoTest)
	}
	var b bytes.Buffer
	s.Write(&b)
	for _, want := range []string{"75.0% (3/4)", "connector.c: lines never run: 3\n", "no test: 2\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	s.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "| `drivers/connector/connector.c` | 75.0% (3/4) |") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

// lcov 1.x and 2.0 name functions with FN and FNDA, 2.2 and later with
// FNL and FNA; both read the same.
func TestParseTracefileFormats(t *testing.T) {
	old := "SF:/x.c\nFN:1,f\nFN:4,main\nFNDA:1,f\nFNDA:0,main\nBRDA:2,0,0,0\nBRDA:2,0,1,-\nDA:1,1\nDA:2,1\nDA:3,0\nDA:4,0\nend_of_record\n"
	new := "TN:\nSF:/x.c\nFNL:0,1,3\nFNA:0,1,f\nFNL:1,4,4\nFNA:1,0,main\nBRDA:2,0,0,0\nBRDA:2,0,1,-\nDA:1,1\nDA:2,1\nDA:3,0\nDA:4,0\nend_of_record\n"
	for name, text := range map[string]string{"1.x": old, "2.2": new} {
		files, err := parseTracefile([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f := files[0]
		if f.Lines != (Count{2, 4}) || f.Functions != (Count{1, 2}) || f.Branches != (Count{0, 2}) || f.Funcs[4] != "main" {
			t.Errorf("%s: lines %v functions %v branches %v funcs %v", name, f.Lines, f.Functions, f.Branches, f.Funcs)
		}
	}
}

func TestFindLcovMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findLcov(t.Context())
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("without lcov: %v, want an error saying make deps", err)
	}
}

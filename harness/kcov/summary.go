// SPDX-License-Identifier: MIT

package kcov

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Summary is a report's per-file summary, as the run prints it and
// writes it to coverage.json.
type Summary struct {
	Info  string        `json:"info"`
	HTML  string        `json:"html"`
	Lcov  string        `json:"lcov"`
	Files []FileSummary `json:"files"`
	// Problems are exclusions that matched nothing and sources that
	// could not be read: the goals are not to be trusted then.
	Problems []string `json:"problems,omitempty"`
}

// FileSummary is one file's line of the summary.
type FileSummary struct {
	Name      string `json:"name"`
	Lines     Count  `json:"lines"`
	Functions Count  `json:"functions"`
	Branches  Count  `json:"branches"`
	// NotRun are the instrumented lines that never ran.
	NotRun []int `json:"not_run"`
	// NoTest, in per-test runs, are the instrumented lines no test ran:
	// NotRun, and the lines only the boot, the module's load or its
	// unload ran.
	NoTest []int `json:"no_test,omitempty"`
	// Excluded are the lines of the Exclusions, with why; Goal is how
	// the file fares against its goal (Goals), if it has one.
	Excluded []excluded  `json:"excluded,omitempty"`
	Goal     *GoalResult `json:"goal,omitempty"`
}

// Summarize summarizes a report.
func Summarize(rep *Report) *Summary {
	s := &Summary{Info: rep.Info, HTML: rep.HTML, Lcov: rep.Lcov}
	for _, f := range rep.Files {
		fs := FileSummary{Name: f.Name, Lines: f.Lines, Functions: f.Functions, Branches: f.Branches, NotRun: f.Uncovered()}
		if len(rep.Tests) > 0 {
			fs.NoTest = noTest(f, rep.Tests)
		}
		excl, stale, err := applyExclusions(f, Exclusions)
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
		}
		s.Problems = append(s.Problems, stale...)
		fs.Excluded, fs.Goal = excl, goalFor(f, excl)
		s.Files = append(s.Files, fs)
	}
	for _, g := range Goals {
		if !slices.ContainsFunc(s.Files, func(f FileSummary) bool { return f.Name == g.File }) {
			s.Problems = append(s.Problems, fmt.Sprintf("%s has a goal but no coverage data", g.File))
		}
	}
	return s
}

// noTest returns the instrumented lines of f that no test's tracefile
// ran; sets whose labels are in parentheses are no tests.
func noTest(f *FileCoverage, tests []TestTrace) []int {
	ran := map[int]bool{}
	for _, t := range tests {
		if strings.HasPrefix(t.Label, "(") {
			continue
		}
		for _, tf := range t.Files {
			if tf.Name != f.Name {
				continue
			}
			for l, n := range tf.Hits {
				if n > 0 {
					ran[l] = true
				}
			}
		}
	}
	var lines []int
	for l := range f.Hits {
		if !ran[l] {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// Write prints the summary as a table, with the lines never run.
func (s *Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "kernel coverage (%s): %s\n", s.Lcov, s.HTML)
	width := len("file")
	for _, f := range s.Files {
		width = max(width, len(f.Name))
	}
	fmt.Fprintf(w, "  %-*s  %-20s  %-20s  %-20s\n", width, "file", "lines", "functions", "branches")
	for _, f := range s.Files {
		fmt.Fprintf(w, "  %-*s  %-20s  %-20s  %-20s\n", width, f.Name, f.Lines, f.Functions, f.Branches)
	}
	for _, f := range s.Files {
		if g := f.Goal; g != nil {
			verdict := "met"
			if !g.Met {
				verdict = "NOT met"
			}
			fmt.Fprintf(w, "  %-*s  goal %g%% of the lines that can run: %s, %s", width, f.Name, g.Percent, strings.TrimSpace(g.Counted.String()), verdict)
			if len(g.Gap) > 0 {
				fmt.Fprintf(w, "; gap: %s", Ranges(g.Gap))
			}
			fmt.Fprintln(w)
		}
	}
	for _, f := range s.Files {
		for _, x := range f.Excluded {
			if len(x.Lines) > 0 {
				fmt.Fprintf(w, "  %s: excluded %s: %s\n", f.Name, Ranges(x.Lines), x.Why)
			}
		}
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	for _, f := range s.Files {
		if len(f.NotRun) > 0 {
			fmt.Fprintf(w, "  %s: lines never run: %s\n", f.Name, Ranges(f.NotRun))
		}
		if extra := without(f.NoTest, f.NotRun); len(extra) > 0 {
			fmt.Fprintf(w, "  %s: lines only the boot, the load or the unload ran, no test: %s\n", f.Name, Ranges(extra))
		}
	}
}

// without returns the elements of a not in b.
func without(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Ranges writes sorted line numbers with runs of consecutive numbers
// joined: "12-14, 20".
func Ranges(lines []int) string {
	var parts []string
	for i := 0; i < len(lines); {
		j := i
		for j+1 < len(lines) && lines[j+1] == lines[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(lines[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", lines[i], lines[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes the summary as a Markdown table, with the lines
// never run.
func (s *Summary) WriteMarkdown(w io.Writer) {
	fmt.Fprintln(w, "| file | lines | functions | branches | lines never run |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	for _, f := range s.Files {
		trim := func(c Count) string { return strings.TrimSpace(c.String()) }
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", f.Name, trim(f.Lines), trim(f.Functions), trim(f.Branches), Ranges(f.NotRun))
	}
	fmt.Fprintln(w)
	for _, f := range s.Files {
		if g := f.Goal; g != nil {
			verdict := "met"
			if !g.Met {
				verdict = "**not met**, gap: " + Ranges(g.Gap)
			}
			fmt.Fprintf(w, "- `%s`: goal %g%% of the lines that can run: %s, %s\n", f.Name, g.Percent, strings.TrimSpace(g.Counted.String()), verdict)
		}
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "- problem: %s\n", p)
	}
}

// SPDX-License-Identifier: MIT

package kcov

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// FileCoverage is one source file's coverage in a tracefile.
type FileCoverage struct {
	// Path is the file's path in the tracefile; Name the name reports use
	// (drivers/connector/connector.c, kmod/cn_echo.c).
	Path string `json:"-"`
	Name string `json:"name"`
	// Lines, Functions and Branches count what was found and what hit.
	Lines     Count `json:"lines"`
	Functions Count `json:"functions"`
	Branches  Count `json:"branches"`
	// Hits are the execution counts of the instrumented lines, by line
	// number.
	Hits map[int]int64 `json:"-"`
	// Funcs are the functions by their first line.
	Funcs map[int]string `json:"-"`
}

// Count is how many of Found were hit.
type Count struct {
	Hit   int `json:"hit"`
	Found int `json:"found"`
}

// Percent is Hit/Found in percent; 100 when nothing was found.
func (c Count) Percent() float64 {
	if c.Found == 0 {
		return 100
	}
	return 100 * float64(c.Hit) / float64(c.Found)
}

func (c Count) String() string {
	if c.Found == 0 {
		return "-"
	}
	return fmt.Sprintf("%5.1f%% (%d/%d)", c.Percent(), c.Hit, c.Found)
}

// Uncovered are the instrumented lines that never ran, in order.
func (f *FileCoverage) Uncovered() []int {
	var lines []int
	for l, n := range f.Hits {
		if n == 0 {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// ReadTracefile reads an lcov tracefile. The counts are those of its DA,
// FN/FNDA (lcov 1.x, 2.0, 2.1), FNL/FNA (2.2 and later) and BRDA records (the LF/LH summary lines are not trusted: a
// merge of two tracefiles keeps them right, hand edits may not).
func ReadTracefile(name string) ([]*FileCoverage, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseTracefile(b)
}

func parseTracefile(b []byte) ([]*FileCoverage, error) {
	var files []*FileCoverage
	var cur *FileCoverage
	var fnHits map[string]int64
	var fnNames []string
	var fnLines map[string]int // FNL's index to line
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(nil, 1<<20)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		key, val, _ := strings.Cut(line, ":")
		if key != "SF" && cur == nil && line != "" && key != "TN" {
			return nil, fmt.Errorf("tracefile line %d: %q outside a source file", n, line)
		}
		f := strings.Split(val, ",")
		switch key {
		case "SF":
			cur = &FileCoverage{Path: val, Name: val, Hits: map[int]int64{}, Funcs: map[int]string{}}
			fnHits, fnNames, fnLines = map[string]int64{}, nil, map[string]int{}
			files = append(files, cur)
		case "DA":
			if len(f) < 2 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			l, err1 := strconv.Atoi(f[0])
			c, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			cur.Hits[l] += c
		case "FN":
			// FN:LINE,NAME (1.x) or FN:LINE,END,NAME (2.x).
			l, err := strconv.Atoi(f[0])
			if err != nil || len(f) < 2 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			name := f[len(f)-1]
			cur.Funcs[l] = name
			if _, ok := fnHits[name]; !ok {
				fnNames = append(fnNames, name)
				fnHits[name] = 0
			}
		case "FNL":
			// FNL:INDEX,LINE[,END] (lcov 2.2 and later), named by FNA.
			if len(f) < 2 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			l, err := strconv.Atoi(f[1])
			if err != nil {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			fnLines[f[0]] = l
		case "FNA":
			// FNA:INDEX,COUNT,NAME (lcov 2.2 and later).
			if len(f) < 3 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			c, _ := strconv.ParseInt(f[1], 10, 64)
			name := f[2]
			if l, ok := fnLines[f[0]]; ok {
				cur.Funcs[l] = name
			}
			if _, ok := fnHits[name]; !ok {
				fnNames = append(fnNames, name)
			}
			fnHits[name] += c
		case "FNDA":
			if len(f) < 2 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			c, _ := strconv.ParseInt(f[0], 10, 64)
			fnHits[f[len(f)-1]] += c
		case "BRDA":
			if len(f) < 4 {
				return nil, fmt.Errorf("tracefile line %d: %q", n, line)
			}
			cur.Branches.Found++
			if f[3] != "-" && f[3] != "0" {
				cur.Branches.Hit++
			}
		case "end_of_record":
			cur.Lines = Count{Found: len(cur.Hits)}
			for _, c := range cur.Hits {
				if c > 0 {
					cur.Lines.Hit++
				}
			}
			cur.Functions = Count{Found: len(fnNames)}
			for _, name := range fnNames {
				if fnHits[name] > 0 {
					cur.Functions.Hit++
				}
			}
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("tracefile ends inside the record of %s", cur.Path)
	}
	return files, s.Err()
}

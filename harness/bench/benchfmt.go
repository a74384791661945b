// SPDX-License-Identifier: MIT

package bench

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// benchLine is one result line of go test -bench:
//
//	BenchmarkRoundTrip/raw/64B-2   33427   30160 ns/op   2.12 MB/s   136 B/op   2 allocs/op
type benchLine struct {
	Name   string // without the -GOMAXPROCS suffix
	Procs  int
	Iter   int64
	Values map[string]float64 // by unit: ns/op, B/op, allocs/op, MB/s
}

var procsSuffix = regexp.MustCompile(`-([0-9]+)$`)

func parseBenchLine(line string) (benchLine, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return benchLine{}, false
	}
	iter, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return benchLine{}, false
	}
	b := benchLine{Name: f[0], Procs: 1, Iter: iter, Values: map[string]float64{}}
	if m := procsSuffix.FindStringSubmatch(b.Name); m != nil {
		b.Procs, _ = strconv.Atoi(m[1])
		b.Name = strings.TrimSuffix(b.Name, m[0])
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return benchLine{}, false
		}
		b.Values[f[i+1]] = v
	}
	if _, ok := b.Values["ns/op"]; !ok {
		return benchLine{}, false
	}
	return b, true
}

// parseBench returns every benchmark result in text, in order.
func parseBench(text string) []benchLine {
	var out []benchLine
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if b, ok := parseBenchLine(sc.Text()); ok {
			out = append(out, b)
		}
	}
	return out
}

// benchSamples groups results by name and unit, in first-seen order: one
// sample per line, so go test -count N gives N samples.
type benchSamples struct {
	names   []string
	samples map[string]map[string][]float64
}

func (s *benchSamples) add(lines []benchLine) {
	if s.samples == nil {
		s.samples = map[string]map[string][]float64{}
	}
	for _, l := range lines {
		m, ok := s.samples[l.Name]
		if !ok {
			m = map[string][]float64{}
			s.samples[l.Name] = m
			s.names = append(s.names, l.Name)
		}
		for unit, v := range l.Values {
			m[unit] = append(m[unit], v)
		}
	}
}

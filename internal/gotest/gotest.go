// SPDX-License-Identifier: MIT

// Package gotest recognises what the testing package prints that test2json
// does not frame, for the guest runner and the host's recorder alike, so
// that the two agree on when a benchmark ended.
package gotest

import "strings"

// IsBenchmark reports whether a test name is a benchmark's or a
// sub-benchmark's.
func IsBenchmark(name string) bool { return strings.HasPrefix(name, "Benchmark") }

// IsBenchResult reports whether line is the result line that benchmark
// name prints when it completes: its name, a "-GOMAXPROCS" suffix unless
// that is 1, blanks, the iteration count and blanks, then the measurements
// ("BenchmarkX/64B-8   \t  10000\t  1234 ns/op\t  64 B/op"). A passing
// benchmark gets no pass event, only this line (testing's benchmark.go,
// runN and the line printed by BenchmarkResult.String).
func IsBenchResult(line, name string) bool {
	if !IsBenchmark(name) {
		return false
	}
	rest, ok := strings.CutPrefix(line, name)
	if !ok {
		return false
	}
	if digits, ok := strings.CutPrefix(rest, "-"); ok {
		rest = strings.TrimLeft(digits, "0123456789")
		if len(rest) == len(digits) {
			return false
		}
	}
	iterations := strings.TrimLeft(rest, " \t")
	if len(iterations) == len(rest) {
		return false
	}
	measures := strings.TrimLeft(iterations, "0123456789")
	if len(measures) == len(iterations) {
		return false
	}
	after := strings.TrimLeft(measures, " \t")
	return len(after) < len(measures) && strings.TrimSpace(after) != ""
}

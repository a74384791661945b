// SPDX-License-Identifier: MIT

package gotest

import "testing"

func TestIsBenchResult(t *testing.T) {
	for _, tt := range []struct {
		line, name string
		want       bool
	}{
		{"BenchmarkEcho-2   \t  100\t  223.6 ns/op\n", "BenchmarkEcho", true},
		{"BenchmarkEcho   \t  100\t  223.6 ns/op", "BenchmarkEcho", true}, // GOMAXPROCS 1
		{"BenchmarkEcho/64B-8 \t 10000\t 1234 ns/op\t 64 B/op\n", "BenchmarkEcho/64B", true},
		{"BenchmarkEcho/size-1   \t  5\t  1 ns/op", "BenchmarkEcho/size-1", true}, // a name ending in -N
		{"BenchmarkEchoMore-2 \t 100\t 1 ns/op", "BenchmarkEcho", false},
		{"BenchmarkEcho-2 \t 100\t\n", "BenchmarkEcho", false}, // no measurement
		{"BenchmarkEcho-2 \t many\t 1 ns/op", "BenchmarkEcho", false},
		{"BenchmarkEcho-2", "BenchmarkEcho", false},
		{"TestEcho \t 100\t 1 ns/op", "TestEcho", false},
		{"    echo_test.go:12: BenchmarkEcho 100 1 ns/op", "BenchmarkEcho", false},
		{"BenchmarkX-8   \t 1000\t 12.5 ns/op\n", "BenchmarkX", true},
		{"BenchmarkX   \t 1000\t 12.5 ns/op\t 64 B/op\t 1 allocs/op\n", "BenchmarkX", true},
		{"BenchmarkRoundTrip/conn/64B        \t    9024\t     33463 ns/op\n", "BenchmarkRoundTrip/conn/64B", true},
		{"BenchmarkX-8   \t 1000\t 3.0 msgs/s\n", "BenchmarkX", true}, // ns/op removed by ReportMetric
		{"BenchmarkX\n", "BenchmarkX", false},                         // the name line of -v
		{"BenchmarkX/sub-8   \t 1000\t 12.5 ns/op\n", "BenchmarkX", false},
		{"BenchmarkXY-8   \t 1000\t 12.5 ns/op\n", "BenchmarkX", false},
		{"BenchmarkX-8   \t 1000\n", "BenchmarkX", false},
		{"BenchmarkX-   \t 1000\t 1 ns/op\n", "BenchmarkX", false},
		{"    bench_test.go:9: BenchmarkX 1 2\n", "BenchmarkX", false},
		{"TestX   \t 1000\t 12.5 ns/op\n", "TestX", false},
	} {
		if got := IsBenchResult(tt.line, tt.name); got != tt.want {
			t.Errorf("IsBenchResult(%q, %q) = %v, want %v", tt.line, tt.name, got, tt.want)
		}
	}
}

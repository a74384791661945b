// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// track feeds lines to a tracker and returns the kernel log markers it
// wrote and the tests whose end it reported.
func track(t *testing.T, lines ...string) (marks, ended []string) {
	t.Helper()
	kmsg = func(s string) { marks = append(marks, s) }
	t.Cleanup(func() { kmsg = writeKmsg })
	var out bytes.Buffer
	tr := &tracker{out: &port{w: &out}, before: map[string]uint64{}}
	for _, l := range lines {
		tr.line([]byte(l + "\n"))
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if r, ok := guest.Decode([]byte(l)); ok && r.Event == guest.EvTest {
			ended = append(ended, r.Test)
		}
	}
	return marks, ended
}

func TestTrackerTests(t *testing.T) {
	marks, ended := track(t,
		"\x16=== RUN   TestA",
		"\x16=== RUN   TestA/sub",
		"    a_test.go:10: log line",
		"\x16--- PASS: TestA/sub (0.00s)",
		"\x16--- FAIL: TestA (0.01s)",
		"\x16--- FAIL: TestA (0.01s)", // a repeat ends nothing twice
	)
	wantMarks := []string{"cnvmtest: begin TestA", "cnvmtest: begin TestA/sub", "cnvmtest: end TestA/sub", "cnvmtest: end TestA"}
	if strings.Join(marks, "|") != strings.Join(wantMarks, "|") {
		t.Errorf("markers %q, want %q", marks, wantMarks)
	}
	if strings.Join(ended, "|") != "TestA/sub|TestA" {
		t.Errorf("ended %q, want TestA/sub then TestA", ended)
	}
}

// A passing benchmark prints no --- PASS line: its result line ends it,
// and a parent with sub-benchmarks ends when the next benchmark starts.
func TestTrackerBenchmarks(t *testing.T) {
	_, ended := track(t,
		"\x16=== RUN   BenchmarkRoundTrip",
		"BenchmarkRoundTrip",
		"\x16=== RUN   BenchmarkRoundTrip/raw/64B",
		"BenchmarkRoundTrip/raw/64B",
		"BenchmarkRoundTrip/raw/64B-2   \t   30000\t     40153 ns/op\t   1.59 MB/s\t     136 B/op\t       2 allocs/op",
		"\x16=== RUN   BenchmarkRoundTrip/conn/size-2",
		"BenchmarkRoundTrip/conn/size-2 \t   10000\t    146096 ns/op", // GOMAXPROCS 1: no suffix
		"\x16=== RUN   BenchmarkWindow",
		"\x16=== RUN   BenchmarkWindow/raw/64B",
		"\x16--- FAIL: BenchmarkWindow/raw/64B",
		"\x16=== RUN   BenchmarkOther",
		"Benchmarks are fun 1 2", // not a result line
	)
	want := "BenchmarkRoundTrip/raw/64B|BenchmarkRoundTrip/conn/size-2|BenchmarkRoundTrip|BenchmarkWindow/raw/64B|BenchmarkWindow"
	if got := strings.Join(ended, "|"); got != want {
		t.Errorf("ended %q,\nwant    %q", got, want)
	}
}

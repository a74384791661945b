// SPDX-License-Identifier: MIT

package report

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The bench-*.jsonl streams come from testdata/bench; see its doc comment.

func TestBenchmarksPass(t *testing.T) {
	want := []brief{
		{"TestOK", Pass},
		{"BenchmarkOK", Pass},
		{"BenchmarkSub", Pass},
		{"BenchmarkSub/fine", Pass},
		{"BenchmarkSub/slow", Pass},
		{"BenchmarkSkip", Skip},
		{"BenchmarkLog", Pass},
		{"BenchmarkCrash", Pass},
	}
	for _, stream := range []string{"bench-pass.jsonl", "bench-gotest.jsonl"} {
		for _, opts := range []Options{{}, {Verbose: true}, {JSON: true}} {
			t.Run(stream, func(t *testing.T) {
				r, out := replay(t, stream, opts)
				// The package's pass event ends its benchmarks: no Finish
				// needed, as for tests.
				if diff := cmp.Diff(want, briefs(r.Results())); diff != "" {
					t.Fatalf("unexpected results (-want +got):\n%s", diff)
				}
				s := r.Summary()
				if s.Outcome != Pass || len(s.Unfinished) != 0 || s.Passed != 7 || s.Skipped != 1 {
					t.Fatalf("summary %s; unfinished %q", s, s.Unfinished)
				}
				r.Finish(Pass, "")
				if s := r.Summary(); s.Outcome != Pass || s.ExitCode() != 0 || len(s.Unfinished) != 0 {
					t.Fatalf("after Finish: %s; unfinished %q", s, s.Unfinished)
				}
				got := out.String()
				if strings.Contains(got, "did not finish") || strings.Contains(got, "--- PASS: Benchmark") {
					t.Errorf("output:\n%s", got)
				}
				if opts.JSON {
					// The events are go test's: no pass event made up.
					if strings.Contains(got, `"Action":"pass","Package":"example.com/bench","Test":"Benchmark`) {
						t.Errorf("JSON output gained benchmark pass events:\n%s", got)
					}
					// (Elapsed is added to the skip event, which test2json
					// leaves out for benchmarks, whose result line has no time.)
					in := strings.Replace(readFile(t, stream), `"skip","Package":"example.com/bench","Test":"BenchmarkSkip"}`,
						`"skip","Package":"example.com/bench","Test":"BenchmarkSkip","Elapsed":0}`, 1)
					if stream == "bench-gotest.jsonl" && got != in {
						t.Errorf("JSON output is not the input:\n%s", got)
					}
				}
			})
		}
	}
}

func TestBenchmarkFails(t *testing.T) {
	for _, opts := range []Options{{}, {Verbose: true}} {
		r, out := replay(t, "bench-fail.jsonl", opts)
		r.Finish(Fail, "1 test(s) failed")
		want := []brief{
			{"TestOK", Pass},
			{"BenchmarkOK", Pass},
			{"BenchmarkSub", Fail},
			{"BenchmarkSub/fine", Pass},
			{"BenchmarkSub/slow", Fail},
			{"BenchmarkSkip", Skip},
			{"BenchmarkLog", Pass},
			{"BenchmarkCrash", Pass},
		}
		if diff := cmp.Diff(want, briefs(r.Results())); diff != "" {
			t.Fatalf("unexpected results (-want +got):\n%s", diff)
		}
		s := r.Summary()
		if s.Outcome != Fail || s.Reason != "1 test(s) failed; BenchmarkSub/slow failed" || len(s.Unfinished) != 0 {
			t.Fatalf("summary %s; unfinished %q", s, s.Unfinished)
		}
		// The binary's "--- FAIL: BenchmarkSub/slow" (benchmarks print no
		// time) is the result line, printed once.
		got := out.String()
		if n := strings.Count(got, "--- FAIL: BenchmarkSub/slow"); n != 1 {
			t.Errorf("%d result lines for BenchmarkSub/slow in\n%s", n, got)
		}
		if strings.Contains(got, "--- SKIP: BenchmarkSkip") != opts.Verbose {
			t.Errorf("the skip line, verbose %v:\n%s", opts.Verbose, got)
		}
	}
}

// TestBenchmarkBinaryExits: the binary exits in BenchmarkCrash; test2json
// fails the benchmark it was in and no other, and the package never
// reports.
func TestBenchmarkBinaryExits(t *testing.T) {
	r, _ := replay(t, "bench-crash.jsonl", Options{})
	r.Finish(Fail, "test binary exited with status 3")
	got := briefs(r.Results())
	want := []brief{
		{"TestOK", Pass},
		{"BenchmarkOK", Pass},
		{"BenchmarkSub", Pass},
		{"BenchmarkSub/fine", Pass},
		{"BenchmarkSub/slow", Pass},
		{"BenchmarkSkip", Skip},
		{"BenchmarkLog", Pass},
		{"BenchmarkCrash", Fail},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected results (-want +got):\n%s", diff)
	}
	if s := r.Summary(); s.Outcome != Fail || !strings.Contains(s.Reason, "BenchmarkCrash failed") || len(s.Unfinished) != 0 {
		t.Fatalf("summary %s; unfinished %q", s, s.Unfinished)
	}
}

// TestBenchmarkCut: the guest died in BenchmarkSub/slow. The benchmarks
// that printed their result pass; the one running, and its parent, did not
// finish, as a test would not.
func TestBenchmarkCut(t *testing.T) {
	for _, opts := range []Options{{}, {Verbose: true}, {JSON: true}} {
		r, out := replay(t, "bench-cut.jsonl", opts)
		if got := r.Summary().Unfinished; len(got) != 4 {
			t.Fatalf("before Finish, unfinished = %q, want all 4 benchmarks", got)
		}
		finishAt(r, 2*time.Second)
		r.Finish(KernelPanic, "kernel panic while running")
		want := []brief{
			{"TestOK", Pass},
			{"BenchmarkOK", Pass},
			{"BenchmarkSub", KernelPanic},
			{"BenchmarkSub/fine", Pass},
			{"BenchmarkSub/slow", KernelPanic},
		}
		if diff := cmp.Diff(want, briefs(r.Results())); diff != "" {
			t.Fatalf("unexpected results (-want +got):\n%s", diff)
		}
		s := r.Summary()
		if diff := cmp.Diff([]string{"BenchmarkSub", "BenchmarkSub/slow"}, s.Unfinished); diff != "" {
			t.Errorf("unexpected unfinished (-want +got):\n%s", diff)
		}
		if want := "kernel panic while running; BenchmarkSub/slow did not finish"; s.Outcome != KernelPanic || s.Reason != want {
			t.Errorf("summary %s, want KERNEL_PANIC: %s", s, want)
		}
		if got := out.String(); !strings.Contains(got, "cnvmtest: KERNEL_PANIC: kernel panic while running") {
			t.Errorf("output does not say why:\n%s", got)
		}
	}
}

// TestUnfinishedTestStaysUnfinished: a test, unlike a benchmark, is not
// passed by its package ending, and a benchmark that printed no result
// line is not passed by a failing package.
func TestUnfinishedTestStaysUnfinished(t *testing.T) {
	// The real stream of a binary that exits in TestCrash, without the
	// fail event test2json then adds: as a guest that died there.
	in := readFile(t, "bench-testcrash.jsonl")
	lines := strings.SplitAfter(strings.TrimSuffix(in, "\n"), "\n")
	r := NewRecorder(Options{})
	if err := Decode(strings.NewReader(strings.Join(lines[:len(lines)-1], "")), r.Event); err != nil {
		t.Fatal(err)
	}
	finishAt(r, time.Second)
	r.Finish(KernelPanic, "kernel panic while running")
	if diff := cmp.Diff([]brief{{"TestOK", Pass}, {"TestCrash", KernelPanic}}, briefs(r.Results())); diff != "" {
		t.Fatalf("unexpected results (-want +got):\n%s", diff)
	}
	if s := r.Summary(); s.Outcome != KernelPanic || len(s.Unfinished) != 1 {
		t.Fatalf("summary %s; unfinished %q", s, s.Unfinished)
	}

	// The package ends with a fail event while a test and a benchmark
	// without a result line are open, and a benchmark with one.
	const pkg = "example.com/bench"
	r = NewRecorder(Options{})
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ev := func(d time.Duration, action, test, output string) Event {
		return Event{Time: at.Add(d), Action: action, Package: pkg, Test: test, Output: output}
	}
	ms := time.Millisecond
	feed(t, r,
		ev(0, "start", "", ""),
		ev(10*ms, "run", "TestHang", ""),
		ev(20*ms, "output", "TestHang", "=== RUN   TestHang\n"),
		ev(30*ms, "run", "BenchmarkDone", ""),
		ev(40*ms, "output", "BenchmarkDone", "BenchmarkDone\n"),
		ev(50*ms, "output", "BenchmarkDone", "BenchmarkDone-4   \t"),
		ev(60*ms, "output", "BenchmarkDone", "   100\t  12.5 ns/op\n"),
		ev(70*ms, "run", "BenchmarkOpen", ""),
		ev(80*ms, "output", "BenchmarkOpen", "BenchmarkOpen\n"),
		ev(90*ms, "output", "", "FAIL\n"),
		Event{Time: at.Add(100 * ms), Action: "fail", Package: pkg, Elapsed: 0.1},
	)
	if diff := cmp.Diff([]string{"TestHang", "BenchmarkOpen"}, r.Summary().Unfinished); diff != "" {
		t.Fatalf("after the package failed, unexpected unfinished (-want +got):\n%s", diff)
	}
	r.Finish(Pass, "")
	want := []brief{{"TestHang", Fail}, {"BenchmarkDone", Pass}, {"BenchmarkOpen", Fail}}
	if diff := cmp.Diff(want, briefs(r.Results())); diff != "" {
		t.Fatalf("unexpected results (-want +got):\n%s", diff)
	}
	s := r.Summary()
	if s.Outcome != Fail || s.Reason != "TestHang did not finish; BenchmarkOpen did not finish" {
		t.Fatalf("summary %s", s)
	}
	for _, res := range r.Results() {
		if res.Name == "BenchmarkDone" && res.Elapsed != 30*time.Millisecond {
			t.Errorf("BenchmarkDone took %s, want 30ms (from its run event to its result line)", res.Elapsed)
		}
	}
}

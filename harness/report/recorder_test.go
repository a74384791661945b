// SPDX-License-Identifier: MIT

package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// durations matches the timings that differ between two runs of the same
// tests: "(0.01s)" and "0.029s" alike.
var durations = regexp.MustCompile(`\d+\.\d+s`)

func normalize(s string) string { return durations.ReplaceAllString(s, "N.NNs") }

func readFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// replay feeds a recorded event stream to a new Recorder and returns it
// with what it printed.
func replay(tb testing.TB, name string, opts Options) (*Recorder, *bytes.Buffer) {
	tb.Helper()
	var out bytes.Buffer
	opts.Out = &out
	r := NewRecorder(opts)
	if err := Decode(strings.NewReader(readFile(tb, name)), r.Event); err != nil {
		tb.Fatalf("replaying %s: %v", name, err)
	}
	return r, &out
}

// goTestText returns what go test printed, without the last line: the
// "FAIL" that go test prints after all packages when one failed, which is
// not part of any package's stream.
func goTestText(tb testing.TB, name string) string {
	tb.Helper()
	s := readFile(tb, name)
	return strings.TrimSuffix(s, "FAIL\n")
}

// The recorded streams and texts come from the same package (testdata/demo),
// in runs whose parallel tests interleaved alike. demo.jsonl is go test -json;
// demo-binary.jsonl is the test binary run through go tool test2json -t, as
// the harness does with the guest's stream: it lacks go test's "FAIL\tpkg"
// line, which the recorder must add.
var streams = []string{"demo.jsonl", "demo-binary.jsonl"}

// elapsed is the time each stream's package took, from its last event.
var elapsed = map[string]time.Duration{
	"demo.jsonl":        28 * time.Millisecond,
	"demo-binary.jsonl": 29 * time.Millisecond,
}

func TestTextMatchesGoTest(t *testing.T) {
	for _, stream := range streams {
		for _, tt := range []struct {
			name    string
			verbose bool
			want    string
		}{
			{name: "verbose", verbose: true, want: "demo-v.txt"},
			{name: "quiet", verbose: false, want: "demo.txt"},
		} {
			t.Run(stream+"/"+tt.name, func(t *testing.T) {
				_, out := replay(t, stream, Options{Verbose: tt.verbose})
				want := normalize(goTestText(t, tt.want))
				if diff := cmp.Diff(want, normalize(out.String())); diff != "" {
					t.Fatalf("text differs from go test's (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestJSONPassesEventsThrough(t *testing.T) {
	_, out := replay(t, "demo.jsonl", Options{JSON: true})
	if diff := cmp.Diff(readFile(t, "demo.jsonl"), out.String()); diff != "" {
		t.Fatalf("JSON output is not the input (-want +got):\n%s", diff)
	}

	// The binary's stream gains the line go test -json would have had.
	in := readFile(t, "demo-binary.jsonl")
	_, out = replay(t, "demo-binary.jsonl", Options{JSON: true})
	lines := strings.SplitAfter(in, "\n")
	last := lines[len(lines)-2] // the package's fail event
	added := `{"Time":"2026-11-29T20:45:57.678806423Z","Action":"output","Package":"example.com/demo","Output":"FAIL\texample.com/demo\t0.029s\n"}` + "\n"
	want := strings.TrimSuffix(in, last) + added + last
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Fatalf("unexpected JSON output (-want +got):\n%s", diff)
	}
}

type brief struct {
	Name    string
	Outcome Outcome
}

func briefs(results []TestResult) []brief {
	var bs []brief
	for _, r := range results {
		bs = append(bs, brief{r.Name, r.Outcome})
	}
	return bs
}

func TestResultsAndSummary(t *testing.T) {
	for _, stream := range streams {
		t.Run(stream, func(t *testing.T) {
			r, _ := replay(t, stream, Options{})
			want := []brief{
				{"TestPass", Pass},
				{"TestFail", Fail},
				{"TestSkip", Skip},
				{"TestStdout", Pass},
				{"TestSub", Fail},
				{"TestSub/ok", Pass},
				{"TestSub/bad", Fail},
				{"TestSub/bad/deeper", Fail},
				{"TestSub/skipped", Skip},
				{"TestParallel", Fail},
				{"TestParallel/a", Pass},
				{"TestParallel/b", Fail},
				{"TestParallel/c", Pass},
				{"TestParallelTop1", Pass},
				{"TestParallelTop2", Pass},
			}
			if diff := cmp.Diff(want, briefs(r.Results())); diff != "" {
				t.Fatalf("unexpected results (-want +got):\n%s", diff)
			}

			s := r.Summary()
			s.Started = time.Time{}
			wantSum := RunSummary{
				Outcome: Fail,
				Reason:  "TestFail failed; TestSub/bad/deeper failed; TestParallel/b failed",
				Tests:   15, Passed: 7, Failed: 6, Skipped: 2,
				Elapsed: elapsed[stream],
			}
			if diff := cmp.Diff(wantSum, s); diff != "" {
				t.Fatalf("unexpected summary (-want +got):\n%s", diff)
			}
			if got := s.ExitCode(); got != 1 {
				t.Fatalf("exit code %d, want 1", got)
			}
		})
	}
}

func TestResultOutput(t *testing.T) {
	r, _ := replay(t, "demo.jsonl", Options{})
	for _, res := range r.Results() {
		if res.Name != "TestSkip" {
			continue
		}
		want := "=== RUN   TestSkip\n    demo_test.go:19: needs /dev/kvm\n--- SKIP: TestSkip (0.00s)\n"
		if diff := cmp.Diff(want, res.Output); diff != "" {
			t.Fatalf("unexpected output (-want +got):\n%s", diff)
		}
		return
	}
	t.Fatal("no result for TestSkip")
}

// finishAt makes the recorder's clock return the time of the last event
// plus d, so synthesized durations are fixed.
func finishAt(r *Recorder, d time.Duration) {
	last := r.lastTime
	r.now = func() time.Time { return last.Add(d) }
}

func TestFinishClosesACutStream(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // the end of the output
	}{
		{
			name: "verbose",
			opts: Options{Verbose: true},
			want: `=== RUN   TestSub/bad/deeper
    demo_test.go:34: deep failure
    cnvmtest: KERNEL_PANIC: kernel panic while running
--- FAIL: TestSub (2.00s)
    --- PASS: TestSub/ok (0.00s)
    --- FAIL: TestSub/bad (2.00s)
        --- FAIL: TestSub/bad/deeper (2.00s)
FAIL	example.com/demo	2.002s
`,
		},
		{
			name: "quiet",
			opts: Options{},
			want: `raw stdout line
--- FAIL: TestSub (2.00s)
    demo_test.go:27: parent log
    --- FAIL: TestSub/bad (2.00s)
        demo_test.go:32: sub bad
        --- FAIL: TestSub/bad/deeper (2.00s)
            demo_test.go:34: deep failure
            cnvmtest: KERNEL_PANIC: kernel panic while running
FAIL	example.com/demo	2.002s
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, out := replay(t, "cut.jsonl", tt.opts)
			before := out.Len()
			if got := r.Summary().Unfinished; len(got) != 3 {
				t.Fatalf("before Finish, unfinished tests = %q, want 3", got)
			}
			finishAt(r, 2*time.Second)
			r.Finish(KernelPanic, "kernel panic while running")
			if before == out.Len() {
				t.Fatal("Finish printed nothing")
			}
			if got := out.String(); !strings.HasSuffix(got, tt.want) {
				t.Fatalf("output ends with\n%s\nwant it to end with\n%s", tail(got, 12), tt.want)
			}

			got := briefs(r.Results())[4:]
			want := []brief{
				{"TestSub", KernelPanic},
				{"TestSub/ok", Pass},
				{"TestSub/bad", KernelPanic},
				{"TestSub/bad/deeper", KernelPanic},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("unexpected results (-want +got):\n%s", diff)
			}
			s := r.Summary()
			if s.Outcome != KernelPanic || s.ExitCode() != 6 {
				t.Fatalf("summary outcome %s (exit %d), want KERNEL_PANIC (exit 6)", s.Outcome, s.ExitCode())
			}
			wantUnfinished := []string{"TestSub", "TestSub/bad", "TestSub/bad/deeper"}
			if diff := cmp.Diff(wantUnfinished, s.Unfinished); diff != "" {
				t.Fatalf("unexpected unfinished tests (-want +got):\n%s", diff)
			}
			if want := "kernel panic while running; TestSub/bad/deeper did not finish"; s.Reason != want {
				t.Fatalf("reason %q, want %q", s.Reason, want)
			}
		})
	}
}

func TestFinishCutStreamJSON(t *testing.T) {
	r, out := replay(t, "cut.jsonl", Options{JSON: true})
	out.Reset()
	finishAt(r, time.Second)
	r.Finish(Timeout, "no progress for 60s")

	var got []Event
	if err := Decode(out, func(e Event) error {
		e.Time = time.Time{}
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pkg := "example.com/demo"
	out2 := func(test, s string) Event { return Event{Action: "output", Package: pkg, Test: test, Output: s} }
	want := []Event{
		out2("TestSub/bad/deeper", "    cnvmtest: TIMEOUT: no progress for 60s\n"),
		out2("TestSub/bad/deeper", "--- FAIL: TestSub/bad/deeper (1.00s)\n"),
		{Action: "fail", Package: pkg, Test: "TestSub/bad/deeper", Elapsed: 1},
		out2("TestSub/bad", "--- FAIL: TestSub/bad (1.00s)\n"),
		{Action: "fail", Package: pkg, Test: "TestSub/bad", Elapsed: 1},
		out2("TestSub", "--- FAIL: TestSub (1.00s)\n"),
		{Action: "fail", Package: pkg, Test: "TestSub", Elapsed: 1},
		out2("", "FAIL\texample.com/demo\t1.002s\n"),
		{Action: "fail", Package: pkg, Elapsed: 1.002},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected events (-want +got):\n%s", diff)
	}
	if s := r.Summary(); s.Outcome != Timeout {
		t.Fatalf("outcome %s, want TIMEOUT", s.Outcome)
	}
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

func TestAttach(t *testing.T) {
	var out bytes.Buffer
	r := NewRecorder(Options{Out: &out, Verbose: true})
	// The console can be faster than the result channel: attach to a
	// test not seen yet.
	r.Attach(Attachment{Test: "TestEcho", KernelLog: "[   12.5] early line\n"})
	feed(t, r,
		Event{Action: "start", Package: "p"},
		Event{Action: "run", Package: "p", Test: "TestEcho"},
		Event{Action: "output", Package: "p", Test: "TestEcho", Output: "=== RUN   TestEcho\n"},
	)
	kernelLog := "[   12.6] ------------[ cut here ]------------\n[   12.6] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x10\n"
	r.Attach(Attachment{Test: "TestEcho", KernelLog: kernelLog, Outcome: KernelSplat, Reason: "WARNING: at x.c:1 f+0x0/0x10"})
	feed(t, r,
		Event{Action: "output", Package: "p", Test: "TestEcho", Output: "    echo_test.go:9: echoed\n"},
		Event{Action: "output", Package: "p", Test: "TestEcho", Output: "--- PASS: TestEcho (0.10s)\n"},
		Event{Action: "pass", Package: "p", Test: "TestEcho", Elapsed: 0.1},
		Event{Action: "output", Package: "p", Output: "PASS\n"},
		Event{Action: "pass", Package: "p", Elapsed: 0.2},
	)
	r.Attach(Attachment{KernelLog: "[   13.0] refcount_t: underflow; use-after-free.\n", Outcome: KernelSplat, Reason: "refcount_t: underflow; use-after-free."})

	want := `=== RUN   TestEcho
cnvmtest: TestEcho: KERNEL_SPLAT: WARNING: at x.c:1 f+0x0/0x10
    [   12.6] ------------[ cut here ]------------
    [   12.6] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x10
=== NAME  TestEcho
    echo_test.go:9: echoed
--- PASS: TestEcho (0.10s)
PASS
ok  	p	0.200s
cnvmtest: KERNEL_SPLAT: refcount_t: underflow; use-after-free.
    [   13.0] refcount_t: underflow; use-after-free.
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Fatalf("unexpected output (-want +got):\n%s", diff)
	}
	res := r.Results()[0]
	if res.Outcome != KernelSplat {
		t.Fatalf("outcome %s, want KERNEL_SPLAT", res.Outcome)
	}
	if want := "[   12.5] early line\n" + kernelLog; res.KernelLog != want {
		t.Fatalf("kernel log %q, want %q", res.KernelLog, want)
	}
	if diff := cmp.Diff([]string{"WARNING: at x.c:1 f+0x0/0x10"}, res.Reports); diff != "" {
		t.Fatalf("unexpected reports (-want +got):\n%s", diff)
	}
	s := r.Summary()
	if s.Outcome != KernelSplat || s.ExitCode() != 7 {
		t.Fatalf("outcome %s (exit %d), want KERNEL_SPLAT (exit 7)", s.Outcome, s.ExitCode())
	}
	if want := "refcount_t: underflow; use-after-free.; TestEcho: WARNING: at x.c:1 f+0x0/0x10"; s.Reason != want {
		t.Fatalf("reason %q, want %q", s.Reason, want)
	}
}

func feed(tb testing.TB, r *Recorder, events ...Event) {
	tb.Helper()
	for _, e := range events {
		if err := r.Event(e); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestTestedNothingIsSkip(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		reason string
	}{
		{name: "no events", reason: "no tests ran"},
		{
			name: "no tests",
			events: []Event{
				{Action: "start", Package: "p"},
				{Action: "output", Package: "p", Output: "testing: warning: no tests to run\n"},
				{Action: "output", Package: "p", Output: "PASS\n"},
				{Action: "pass", Package: "p", Elapsed: 0.1},
			},
			reason: "no tests ran",
		},
		{
			name: "all skipped",
			events: []Event{
				{Action: "run", Package: "p", Test: "TestA"},
				{Action: "run", Package: "p", Test: "TestA/x"},
				{Action: "skip", Package: "p", Test: "TestA/x"},
				{Action: "pass", Package: "p", Test: "TestA"},
				{Action: "pass", Package: "p", Elapsed: 0.1},
			},
			reason: "all 2 tests skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(Options{})
			feed(t, r, tt.events...)
			r.Finish(Pass, "")
			s := r.Summary()
			if s.Outcome != Skip || s.Reason != tt.reason || s.ExitCode() != 10 {
				t.Fatalf("got %s %q (exit %d), want SKIP %q (exit 10)", s.Outcome, s.Reason, s.ExitCode(), tt.reason)
			}
		})
	}
}

func TestQuietNoTestsLine(t *testing.T) {
	var out bytes.Buffer
	r := NewRecorder(Options{Out: &out})
	feed(t, r,
		Event{Action: "start", Package: "p"},
		Event{Action: "output", Package: "p", Output: "testing: warning: no tests to run\n"},
		Event{Action: "output", Package: "p", Output: "PASS\n"},
		Event{Action: "pass", Package: "p", Elapsed: 0.1},
	)
	if want := "ok  \tp\t0.100s [no tests to run]\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestFinishWhenNothingRan(t *testing.T) {
	for _, json := range []bool{false, true} {
		var out bytes.Buffer
		r := NewRecorder(Options{Out: &out, JSON: json, Package: "example.com/vmtests"})
		r.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
		r.Finish(BootFail, "no output from the guest runner")
		want := "FAIL\texample.com/vmtests [BOOT_FAIL: no output from the guest runner]\n"
		if json {
			want = `{"Time":"2026-01-02T03:04:05Z","Action":"start","Package":"example.com/vmtests"}
{"Time":"2026-01-02T03:04:05Z","Action":"output","Package":"example.com/vmtests","Output":"FAIL\texample.com/vmtests [BOOT_FAIL: no output from the guest runner]\n"}
{"Time":"2026-01-02T03:04:05Z","Action":"fail","Package":"example.com/vmtests","Elapsed":0}
`
		}
		if diff := cmp.Diff(want, out.String()); diff != "" {
			t.Fatalf("json=%v: unexpected output (-want +got):\n%s", json, diff)
		}
		s := r.Summary()
		if s.Outcome != BootFail || s.ExitCode() != 5 || s.Reason != "no output from the guest runner" {
			t.Fatalf("json=%v: got %s %q (exit %d), want BOOT_FAIL (exit 5)", json, s.Outcome, s.Reason, s.ExitCode())
		}
	}
}

func TestFinishRunOutcomeAfterCompleteStream(t *testing.T) {
	r, out := replay(t, "demo.jsonl", Options{})
	out.Reset()
	r.Finish(ModuleLoadFail, "")
	if want := "cnvmtest: MODULE_LOAD_FAIL\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	if s := r.Summary(); s.Outcome != ModuleLoadFail {
		t.Fatalf("outcome %s, want MODULE_LOAD_FAIL", s.Outcome)
	}
}

func TestPartialLines(t *testing.T) {
	var out bytes.Buffer
	r := NewRecorder(Options{Out: &out, Verbose: true})
	feed(t, r,
		Event{Action: "run", Package: "p", Test: "TestA"},
		Event{Action: "output", Package: "p", Test: "TestA", Output: "=== RUN   TestA\n"},
		Event{Action: "output", Package: "p", Test: "TestA", Output: "no newline"},
		Event{Action: "output", Package: "p", Test: "TestA", Output: " yet\nnone at all"},
		Event{Action: "fail", Package: "p", Test: "TestA", Elapsed: 0.5},
	)
	want := "=== RUN   TestA\nno newline yet\nnone at all\n--- FAIL: TestA (0.50s)\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Fatalf("unexpected output (-want +got):\n%s", diff)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrorIsReported(t *testing.T) {
	r := NewRecorder(Options{Out: failingWriter{}, Verbose: true})
	err := r.Event(Event{Action: "output", Package: "p", Output: "hello\n"})
	if err == nil || r.Err() == nil {
		t.Fatalf("Event = %v, Err = %v; want errors", err, r.Err())
	}
}

func TestExitCodes(t *testing.T) {
	want := map[Outcome]int{
		Pass: 0, Fail: 1, Skip: 10, ModuleBuildFail: 3, ModuleLoadFail: 4,
		BootFail: 5, KernelPanic: 6, KernelSplat: 7, Timeout: 8, Infra: 9,
	}
	if len(want) != len(Outcomes) {
		t.Fatalf("%d outcomes, %d exit codes", len(Outcomes), len(want))
	}
	seen := make(map[int]Outcome)
	for _, o := range Outcomes {
		code := o.ExitCode()
		if code != want[o] {
			t.Errorf("%s.ExitCode() = %d, want %d", o, code, want[o])
		}
		if code == ExitUsage {
			t.Errorf("%s shares exit code %d with a usage error", o, code)
		}
		if prev, ok := seen[code]; ok {
			t.Errorf("%s and %s share exit code %d", prev, o, code)
		}
		seen[code] = o
		if !o.Valid() {
			t.Errorf("%s is not valid", o)
		}
	}
	if got := Outcome("BOGUS").ExitCode(); got != Infra.ExitCode() {
		t.Errorf("unknown outcome exit code %d, want INFRA's", got)
	}
}

// The result channel and the console are read by different goroutines.
func TestConcurrentEventsAndAttach(t *testing.T) {
	r := NewRecorder(Options{Out: new(bytes.Buffer), Verbose: true})
	events := readFile(t, "demo-binary.jsonl")
	done := make(chan error)
	go func() { done <- Decode(strings.NewReader(events), r.Event) }()
	for range 50 {
		r.Attach(Attachment{Test: "TestPass", KernelLog: "[ 1.0] console line\n"})
		_ = r.Summary()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(r.Results()[0].KernelLog, "console line"); got != 50 {
		t.Fatalf("%d attached lines, want 50", got)
	}
}

// The harness attaches each kernel report to the run and gives the worst
// as Finish's reason: the summary says it once.
func TestRunReasonNotRepeated(t *testing.T) {
	r, _ := replay(t, "demo.jsonl", Options{})
	r.Attach(Attachment{KernelLog: "[ 9.0] Kernel panic - not syncing: Fatal exception", Outcome: KernelPanic, Reason: "Kernel panic - not syncing: Fatal exception"})
	r.Finish(KernelPanic, "Kernel panic - not syncing: Fatal exception")
	s := r.Summary()
	if diff := cmp.Diff([]string{"Kernel panic - not syncing: Fatal exception"}, s.Reports); diff != "" {
		t.Fatalf("unexpected reports (-want +got):\n%s", diff)
	}
	if s.Outcome != KernelPanic || s.Reason != "Kernel panic - not syncing: Fatal exception" {
		t.Fatalf("got %s %q", s.Outcome, s.Reason)
	}
}

// TestKnownBugs checks that a known kernel bug a test logs is kept once
// per test and bug, leaves the test's outcome alone, and is printed at the
// end where a person reads the run's summary.
func TestKnownBugs(t *testing.T) {
	var out strings.Builder
	r := NewRecorder(Options{Out: &out, Package: "p"})
	line := "    proc_test.go:9: known kernel bug present: cn-proc-underflow: no ack after the second IGNORE\n"
	for _, e := range []Event{
		{Action: "start", Package: "p"},
		{Action: "run", Package: "p", Test: "TestProc"},
		{Action: "output", Package: "p", Test: "TestProc", Output: line},
		{Action: "output", Package: "p", Test: "TestProc", Output: line},
		{Action: "pass", Package: "p", Test: "TestProc"},
		{Action: "pass", Package: "p"},
	} {
		if err := r.Event(e); err != nil {
			t.Fatal(err)
		}
	}
	r.Finish(Pass, "")
	s := r.Summary()
	want := []KnownBug{{ID: "cn-proc-underflow", Test: "TestProc", Text: "no ack after the second IGNORE"}}
	if !slices.Equal(s.KnownBugs, want) || s.Outcome != Pass {
		t.Fatalf("KnownBugs = %+v, outcome %s; want %+v, PASS", s.KnownBugs, s.Outcome, want)
	}
	if !strings.Contains(out.String(), "cnvmtest: known kernel bug present: cn-proc-underflow (TestProc): no ack after the second IGNORE\n") {
		t.Errorf("the text report does not list the bug:\n%s", out.String())
	}
}

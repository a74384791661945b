package selftest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

const (
	// guestPkg is the guest test package, relative to the repository root.
	guestPkg = "./harness/selftest/guest"
	// hangTimeout bounds the guest in the cases that hang: long enough for
	// a TCG boot (about 5 s), the kernel's hung task report (the guest
	// test sets the timeout to 10 s) and the test binary's own timeout.
	hangTimeout = 90 * time.Second
	// runTimeout bounds the guest in the cases that end by themselves,
	// so that a harness that misses the end fails in minutes, not in the
	// 10 minutes of its TCG default.
	runTimeout = 3 * time.Minute
	// slack is how much longer than its guest timeout a run may take:
	// building the binaries, writing the initramfs, reading the results.
	slack = 15 * time.Second
)

// requireSelftest skips the slow tests unless they were asked for.
func requireSelftest(t *testing.T) {
	t.Helper()
	if os.Getenv("CNVMTEST_SELFTEST") != "1" {
		t.Skip("boots a VM per case: set CNVMTEST_SELFTEST=1 to run (CNVMTEST_SELFTEST=1 go test -timeout 30m ./harness/selftest)")
	}
}

// vms bounds the guests booted at once: by default two, one per core of
// the two-core machines these run on, whatever go test -parallel says.
var vms = make(chan struct{}, envInt("CNVMTEST_SELFTEST_VMS", 2))

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// config is one harness run.
type config struct {
	run     string        // -run pattern for the guest tests
	timeout time.Duration // guest timeout
	kmod    string        // module source; default faultmod
	params  string        // module parameters
	kernel  string        // kernel spec; default CNVMTEST_KERNEL
	init    harness.Init  // the guest's init; default the harness's
	// started, when set, is called as soon as TestBefore has passed in
	// the live JSON stream.
	started func()
}

// outcome is what one run produced, seen the three ways a user sees it:
// the Result, the live JSON stream and the JUnit file.
type outcome struct {
	res    *harness.Result
	err    error
	wall   time.Duration
	stdout *syncBuffer // -json events
	stderr *syncBuffer // progress and diagnostics
	events []report.Event
	junit  []junitCase // nil when no JUnit file was written
	jerr   error       // why the JUnit file could not be read
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// outDir is where the case's run directory goes: kept under
// CNVMTEST_SELFTEST_OUT when set, else removed after the test.
func outDir(t *testing.T) string {
	if keep := os.Getenv("CNVMTEST_SELFTEST_OUT"); keep != "" {
		dir := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// boot runs the harness on the fault module and the guest tests.
func boot(t *testing.T, ctx context.Context, c config) *outcome {
	t.Helper()
	root := repoRoot(t)
	kmod := c.kmod
	if kmod == "" {
		kmod = filepath.Join(root, "harness", "selftest", "faultmod")
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = runTimeout
	}
	o := &outcome{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	opts := harness.Options{
		Repo:         root,
		Kernel:       cmp.Or(c.kernel, os.Getenv("CNVMTEST_KERNEL")),
		KmodDir:      kmod,
		ModuleParams: c.params,
		TestsDir:     root,
		TestsPkg:     guestPkg,
		Run:          c.run,
		Timeout:      timeout,
		Accel:        harness.AccelMode(os.Getenv("CNVMTEST_ACCEL")),
		Init:         c.init,
		JSON:         true,
		JUnit:        filepath.Join(t.TempDir(), "junit.xml"),
		OutDir:       outDir(t),
		CPUs:         1,
		Stdout:       o.stdout,
		Stderr:       o.stderr,
	}
	if c.started != nil {
		o.stdout.watch = func(b []byte) bool {
			if passed(b, "TestBefore") {
				c.started()
				return true
			}
			return false
		}
	}

	vms <- struct{}{}
	defer func() { <-vms }()
	start := time.Now()
	o.res, o.err = harness.Run(ctx, opts)
	o.wall = time.Since(start)

	o.events = decodeEvents(t, o.stdout.Bytes())
	o.junit, o.jerr = readJUnit(opts.JUnit)
	t.Cleanup(func() { o.log(t) })
	return o
}

// log writes a digest of the run, and the harness's own output when the
// test failed.
func (o *outcome) log(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "wall %s", o.wall.Round(100*time.Millisecond))
	if o.err != nil {
		fmt.Fprintf(&b, "; harness.Run error: %v", firstLine(o.err.Error()))
	}
	if o.res != nil {
		fmt.Fprintf(&b, "; outcome %s: %s", o.res.Outcome, firstLine(o.res.Reason))
		for _, p := range o.res.Phases {
			fmt.Fprintf(&b, "\n\tphase %-10s %6.2fs", p.Name, p.Elapsed.Seconds())
		}
		if o.res.ConsoleLog != "" {
			fmt.Fprintf(&b, "\n\tconsole log %s", o.res.ConsoleLog)
		}
		fmt.Fprintf(&b, "\n\tsummary: %s", o.res.Summary)
	}
	if o.junit == nil {
		fmt.Fprintf(&b, "\n\tno JUnit report: %v", o.jerr)
	}
	for _, c := range o.junit {
		fmt.Fprintf(&b, "\n\tjunit %-18s %s", c.Name, c.outcome())
		if p := c.problem(); p != nil && p.Message != "" {
			fmt.Fprintf(&b, ": %s", firstLine(p.Message))
		}
	}
	t.Log(b.String())
	if t.Failed() {
		t.Logf("harness stderr:\n%s", o.stderr.String())
		t.Logf("harness stdout (-json):\n%s", o.stdout.String())
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// result returns the run's Result, failing the test when Run returned an
// error instead.
func (o *outcome) result(t *testing.T) *harness.Result {
	t.Helper()
	if o.err != nil {
		t.Fatalf("harness.Run failed: %v", o.err)
	}
	if o.res == nil {
		t.Fatal("harness.Run returned neither a result nor an error")
	}
	return o.res
}

// wantOutcome checks the run's outcome and that the exit code agrees.
func (o *outcome) wantOutcome(t *testing.T, want report.Outcome) {
	t.Helper()
	res := o.result(t)
	if res.Outcome != want {
		t.Errorf("run outcome %s (%s), want %s", res.Outcome, firstLine(res.Reason), want)
	}
	if res.Summary.Outcome != res.Outcome {
		t.Errorf("Summary.Outcome %s, Result.Outcome %s: they disagree", res.Summary.Outcome, res.Outcome)
	}
	if got := res.ExitCode(); got != want.ExitCode() {
		t.Errorf("exit code %d, want %d for %s", got, want.ExitCode(), want)
	}
}

// wantTest checks one test's outcome in the JUnit report and returns its
// case.
func (o *outcome) wantTest(t *testing.T, name string, want report.Outcome) junitCase {
	t.Helper()
	if o.junit == nil {
		t.Fatalf("no JUnit report: %v", o.jerr)
	}
	c, ok := o.junitCase(name)
	if !ok {
		t.Fatalf("JUnit report has no case %s", name)
	}
	if got := c.outcome(); got != want {
		msg := ""
		if p := c.problem(); p != nil {
			msg = ": " + firstLine(p.Message)
		}
		t.Errorf("JUnit: %s is %s%s, want %s", name, got, msg, want)
	}
	return c
}

func (o *outcome) junitCase(name string) (junitCase, bool) {
	for _, c := range o.junit {
		if c.Name == name {
			return c, true
		}
	}
	return junitCase{}, false
}

// wantBeforeKept checks that TestBefore's pass, reported before the fault,
// survived it: in the live stream, in the JUnit report and in the summary.
func (o *outcome) wantBeforeKept(t *testing.T) {
	t.Helper()
	if !o.hasEvent("pass", "TestBefore") {
		t.Error("the -json stream has no pass event for TestBefore")
	}
	o.wantTest(t, "TestBefore", report.Pass)
	if o.res != nil && o.res.Summary.Passed < 1 {
		t.Errorf("summary counts %d passed tests, want TestBefore among them: %s", o.res.Summary.Passed, o.res.Summary)
	}
}

// wantSummary checks the run's counts and the tests it says never
// finished.
func (o *outcome) wantSummary(t *testing.T, tests, passed, failed int, unfinished ...string) {
	t.Helper()
	sum := o.result(t).Summary
	if sum.Tests != tests || sum.Passed != passed || sum.Failed != failed {
		t.Errorf("summary %q: want %d tests, %d passed, %d failed", sum, tests, passed, failed)
	}
	if strings.Join(sum.Unfinished, ",") != strings.Join(unfinished, ",") {
		t.Errorf("summary lists %q as unfinished, want %q", sum.Unfinished, unfinished)
	}
}

// wantNoRunCase checks that the JUnit report has no case for the run
// itself: the run's failure is shown by a test, and a second case would
// count it twice.
func (o *outcome) wantNoRunCase(t *testing.T) {
	t.Helper()
	if c, ok := o.junitCase(report.RunCaseName); ok {
		t.Errorf("JUnit has a %s case (%s: %s) although a test shows the run's failure: one fault counted twice", report.RunCaseName, c.outcome(), firstLine(c.problem().Message))
	}
}

// wantWall checks that the run ended in time.
func (o *outcome) wantWall(t *testing.T, timeout time.Duration) {
	t.Helper()
	if o.wall > timeout+slack {
		t.Errorf("the run took %s, more than its timeout %s + %s", o.wall.Round(time.Second), timeout, slack)
	}
}

func (o *outcome) hasEvent(action, test string) bool {
	for _, e := range o.events {
		if e.Action == action && e.Test == test {
			return true
		}
	}
	return false
}

// output returns what the -json stream says a test printed.
func (o *outcome) output(test string) string {
	var b strings.Builder
	for _, e := range o.events {
		if e.Action == "output" && e.Test == test {
			b.WriteString(e.Output)
		}
	}
	return b.String()
}

func decodeEvents(t *testing.T, b []byte) []report.Event {
	var events []report.Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e report.Event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Errorf("-json output has a line that is not an event: %q", line)
			continue
		}
		events = append(events, e)
	}
	return events
}

// passed reports whether the -json output so far has test's pass event.
func passed(out []byte, test string) bool {
	for line := range bytes.Lines(out) {
		var e report.Event
		if json.Unmarshal(line, &e) == nil && e.Action == "pass" && e.Test == test {
			return true
		}
	}
	return false
}

// The JUnit report as CI reads it.
type junitSuites struct {
	Suites []struct {
		Name  string      `xml:"name,attr"`
		Cases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out"`
	SystemErr string        `xml:"system-err"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (c junitCase) problem() *junitProblem {
	switch {
	case c.Failure != nil:
		return c.Failure
	case c.Error != nil:
		return c.Error
	}
	return c.Skipped
}

func (c junitCase) outcome() report.Outcome {
	switch {
	case c.Failure != nil:
		return report.Outcome(c.Failure.Type)
	case c.Error != nil:
		return report.Outcome(c.Error.Type)
	case c.Skipped != nil:
		return report.Skip
	}
	return report.Pass
}

// text is everything the case says: message, failure text, output and
// kernel log.
func (c junitCase) text() string {
	s := c.SystemOut + "\n" + c.SystemErr
	if p := c.problem(); p != nil {
		s = p.Message + "\n" + p.Text + "\n" + s
	}
	return s
}

func readJUnit(path string) ([]junitCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	cases := []junitCase{}
	for _, s := range doc.Suites {
		cases = append(cases, s.Cases...)
	}
	return cases, nil
}

// syncBuffer is a bytes.Buffer written by the harness's goroutines while
// a test reads it. watch, when set, sees the buffer after each write until
// it returns true.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	watch func([]byte) bool
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.b.Write(p)
	watch, snapshot := s.watch, bytes.Clone(s.b.Bytes())
	s.mu.Unlock()
	if watch != nil && watch(snapshot) {
		s.mu.Lock()
		s.watch = nil
		s.mu.Unlock()
	}
	return n, err
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// wantContains checks that s holds every one of subs.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, indent(s))
		}
	}
}

func indent(s string) string {
	const max = 4000
	if len(s) > max {
		s = s[:max] + "\n…"
	}
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}

// --- The faults ---

// A WARN_ON(1) during TestWarn: the kernel lives and TestWarn passes from
// its own point of view, but the run is KERNEL_SPLAT and TestWarn carries
// the warning.
func TestFaultWarn(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	// Both inits: the runner as /init (the default) and as u-root's uinit
	// must mark tests in the kernel log alike.
	for _, init := range []harness.Init{harness.InitRunner, harness.InitURoot} {
		t.Run(string(init), func(t *testing.T) {
			t.Parallel()
			o := boot(t, t.Context(), config{run: "^(TestBefore|TestWarn)$", init: init})
			o.wantOutcome(t, report.KernelSplat)
			o.wantBeforeKept(t)
			o.wantNoRunCase(t)
			if !o.hasEvent("pass", "TestWarn") {
				t.Error("TestWarn did not pass from its own point of view: the guest test is broken")
			}
			c := o.wantTest(t, "TestWarn", report.KernelSplat)
			wantContains(t, "TestWarn's JUnit case", c.text(), "WARNING:", "cn_fault_warn", "end trace")
			if before, ok := o.junitCase("TestBefore"); ok && strings.Contains(before.text(), "cn_fault_warn") {
				t.Error("the warning is attached to TestBefore too")
			}
			o.wantSummary(t, 2, 1, 1)
			o.wantWall(t, runTimeout)
		})
	}
}

// A NULL pointer dereference in the sendmsg() of TestOops' helper process:
// an oops; the kernel lives.
func TestFaultOops(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestOops)$"})
	o.wantOutcome(t, report.KernelSplat)
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1)
	o.wantNoRunCase(t)
	if !o.hasEvent("pass", "TestOops") {
		t.Error("TestOops did not pass from its own point of view: the guest test is broken")
	}
	c := o.wantTest(t, "TestOops", report.KernelSplat)
	wantContains(t, "TestOops' JUnit case", c.text(), "NULL pointer dereference", "Oops", "cn_fault_oops")
	o.wantWall(t, runTimeout)
}

// panic() during TestPanic: KERNEL_PANIC, blamed on TestPanic.
func TestFaultPanic(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestPanic)$"})
	o.wantOutcome(t, report.KernelPanic)
	wantContains(t, "the run's reason", o.result(t).Reason, "cn_fault: requested panic")
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestPanic")
	o.wantNoRunCase(t)
	c := o.wantTest(t, "TestPanic", report.KernelPanic)
	wantContains(t, "TestPanic's JUnit case", c.text(), "Kernel panic - not syncing: cn_fault: requested panic")
	o.wantWall(t, runTimeout)
}

// A kernel hang: TestHang's sender blocks in TASK_UNINTERRUPTIBLE. The
// harness's timeout ends the run; the kernel's hung task report, which
// the guest test brings forward to 10 s, belongs to TestHang.
func TestFaultHang(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestHang)$", timeout: hangTimeout})
	o.wantOutcome(t, report.Timeout)
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestHang")
	o.wantNoRunCase(t)
	c := o.wantTest(t, "TestHang", report.Timeout)
	// The kernel's hung task report, with the blocked task's stack (it
	// names the module's callback), belongs to TestHang; so does the
	// goroutine dump of the test binary's own timeout, which shows the
	// sender stuck in its system call.
	wantContains(t, "TestHang's JUnit case", c.text(), "blocked for more than 10 seconds", "cn_fault_hang", "[syscall]")
	if q := o.phase("qemu"); q != 0 && q < hangTimeout {
		t.Errorf("QEMU ran %s: killed before the timeout %s", q, hangTimeout)
	}
	o.wantWall(t, hangTimeout)
}

// A leak only kmemleak can see. Debian kernels have no kmemleak: the guest
// test skips saying so and the run passes. On a kernel with kmemleak the
// leak is a kernel report against TestLeak.
func TestFaultLeak(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestLeak)$"})
	o.wantBeforeKept(t)
	c, ok := o.junitCase("TestLeak")
	if !ok {
		t.Fatalf("JUnit report has no case TestLeak")
	}
	if c.outcome() == report.Skip {
		wantContains(t, "TestLeak's skip", c.text(), "no kmemleak")
		o.wantOutcome(t, report.Pass)
		o.wantSummary(t, 2, 1, 0)
	} else {
		t.Log("the kernel has kmemleak: the leak must be reported")
		o.wantTest(t, "TestLeak", report.KernelSplat)
		o.wantOutcome(t, report.KernelSplat)
	}
	o.wantWall(t, runTimeout)
}

// A use-after-free in the module: on a KASAN kernel (the debug flavour),
// KASAN's report fails the test that triggered it. It needs that kernel,
// whose build takes many minutes, so it runs only when
// CNVMTEST_KASAN_KERNEL names one (e.g. debian-src:6.12@debug).
func TestFaultUseAfterFree(t *testing.T) {
	requireSelftest(t)
	spec := os.Getenv("CNVMTEST_KASAN_KERNEL")
	if spec == "" {
		t.Skip("needs a KASAN kernel: CNVMTEST_KASAN_KERNEL=debian-src:6.12@debug (a source build)")
	}
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestUseAfterFree)$", kernel: spec, timeout: 8 * time.Minute})
	o.wantBeforeKept(t)
	c := o.wantTest(t, "TestUseAfterFree", report.KernelSplat)
	wantContains(t, "TestUseAfterFree's report", c.text(), "KASAN")
	o.wantOutcome(t, report.KernelSplat)
}

// A crash of the Go runtime in the test binary: the kernel is fine, the
// run is FAIL and names TestGoCrash, with the panic in its output.
func TestGoCrash(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestGoCrash)$"})
	o.wantOutcome(t, report.Fail)
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestGoCrash")
	o.wantNoRunCase(t)
	c := o.wantTest(t, "TestGoCrash", report.Fail)
	wantContains(t, "TestGoCrash's JUnit case", c.text(), "assignment to entry in nil map", "goroutine ")
	wantContains(t, "the run's reason", o.result(t).Reason, "TestGoCrash")
	o.wantWall(t, runTimeout)
}

// A test that never returns, in user space. The test binary's own
// -test.timeout, which the harness sets below the guest timeout,
// should fire first and print the goroutine dump. Either way the test
// hung, so the right outcome is TIMEOUT (not FAIL: nothing asserted and
// failed; not a KERNEL_*: the kernel is fine), with the dump in
// TestNeverReturns' output.
func TestNeverReturns(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^(TestBefore|TestNeverReturns)$", timeout: hangTimeout})
	o.wantOutcome(t, report.Timeout)
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestNeverReturns")
	o.wantNoRunCase(t)
	c := o.wantTest(t, "TestNeverReturns", report.Timeout)
	wantContains(t, "TestNeverReturns' JUnit case", c.text(), "panic: test timed out after", "TestNeverReturns", "select (no cases)")
	o.wantWall(t, hangTimeout)
}

func (o *outcome) phase(name string) time.Duration {
	if o.res == nil {
		return 0
	}
	for _, p := range o.res.Phases {
		if p.Name == name {
			return p.Elapsed
		}
	}
	return 0
}

// --- The host side failing ---

// QEMU killed in the middle of the run, as by the OOM killer: INFRA, with
// TestBefore's pass kept. VMTEST_QEMU points at a wrapper that kills the
// real QEMU with SIGKILL once the console shows TestNeverReturns started.
// Not parallel: VMTEST_QEMU is process-wide.
func TestQEMUKilled(t *testing.T) {
	requireSelftest(t)
	real, err := exec.LookPath(envOr("VMTEST_QEMU", "qemu-system-x86_64"))
	if err != nil {
		t.Fatalf("QEMU: %v", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("the QEMU wrapper needs bash: %v", err)
	}
	wrapper := filepath.Join(t.TempDir(), "qemu-dies")
	script := fmt.Sprintf(`#!/bin/bash
# Runs QEMU (exec: same pid) and kills it with SIGKILL two seconds after
# the console shows the marker: the runner marks a test's start in the
# kernel log just before it forwards the test's first line, which must
# reach the host first.
exec %q "$@" > >(
	killed=
	while IFS= read -r line; do
		printf '%%s\n' "$line"
		if [[ -z $killed && $line == *%q* ]]; then
			killed=1
			(sleep 2; kill -9 $$) &
		fi
	done
) 2>&1
`, real, "cnvmtest: begin TestNeverReturns")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VMTEST_QEMU", wrapper)

	o := boot(t, t.Context(), config{run: "^(TestBefore|TestNeverReturns)$", timeout: hangTimeout})
	o.wantOutcome(t, report.Infra)
	// INFRA says the host failed: the reason must point at QEMU, not
	// leave the user to suspect the guest.
	if r := o.result(t).Reason; !strings.Contains(r, "QEMU") {
		t.Errorf("the run's reason %q does not say that QEMU died", r)
	}
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestNeverReturns")
	o.wantTest(t, "TestNeverReturns", report.Infra)
	if o.wall > hangTimeout/2 {
		t.Errorf("the run took %s: the harness did not notice QEMU's death at once", o.wall.Round(time.Second))
	}
}

// The run's context cancelled in the middle (Ctrl-C, a CI job cancelled):
// Run returns at once, and with a result: INFRA, saying it was
// interrupted, with TestBefore's pass kept in the JUnit report.
func TestRunCancelled(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelled time.Time
	var mu sync.Mutex
	o := boot(t, ctx, config{
		run:     "^(TestBefore|TestNeverReturns)$",
		timeout: hangTimeout,
		started: func() {
			// Let TestNeverReturns start, then pull the plug.
			time.AfterFunc(2*time.Second, func() {
				mu.Lock()
				cancelled = time.Now()
				mu.Unlock()
				cancel()
			})
		},
	})
	mu.Lock()
	at := cancelled
	mu.Unlock()
	if at.IsZero() {
		t.Fatal("TestBefore never passed in the live stream, so the run was never cancelled")
	}
	after := time.Since(at)
	t.Logf("harness.Run returned %s after the cancel", after.Round(100*time.Millisecond))
	if after > 10*time.Second {
		t.Errorf("harness.Run returned %s after its context was cancelled", after.Round(time.Second))
	}
	if !o.hasEvent("pass", "TestBefore") {
		t.Error("the -json stream has no pass event for TestBefore")
	}
	if o.err != nil {
		t.Errorf("harness.Run returned an error, so no result and no JUnit report: %v (want Outcome INFRA with the results so far)", o.err)
		if !errors.Is(o.err, context.Canceled) {
			t.Errorf("the error does not wrap context.Canceled")
		}
		return
	}
	o.wantOutcome(t, report.Infra)
	if r := strings.ToLower(o.res.Reason); !strings.Contains(r, "interrupt") && !strings.Contains(r, "cancel") {
		t.Errorf("the run's reason %q does not say the run was interrupted", o.res.Reason)
	}
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestNeverReturns")
}

// No QEMU: a clear error that says how to install it. Not parallel:
// VMTEST_QEMU is process-wide.
func TestQEMUMissing(t *testing.T) {
	requireSelftest(t)
	t.Setenv("VMTEST_QEMU", "/nonexistent/qemu-system-x86_64")
	o := boot(t, t.Context(), config{run: "^TestBefore$"})
	if o.err == nil {
		t.Fatalf("harness.Run succeeded without QEMU: outcome %s", o.res.Outcome)
	}
	wantContains(t, "the error", o.err.Error(), "/nonexistent/qemu-system-x86_64", "make deps")
	if o.wall > 60*time.Second {
		t.Errorf("took %s to find that QEMU is missing", o.wall.Round(time.Second))
	}
}

// A module that does not compile: MODULE_BUILD_FAIL with the compiler's
// message, and no boot. CI reads the JUnit report, so that must say it
// too.
func TestModuleBuildFail(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Kbuild": "obj-m += cn_broken.o\n",
		"cn_broken.c": `// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>

static int __init cn_broken_init(void)
{
	return cn_broken_undeclared;
}
module_init(cn_broken_init);
MODULE_LICENSE("GPL");
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := boot(t, t.Context(), config{run: "^TestBefore$", kmod: dir})
	o.wantOutcome(t, report.ModuleBuildFail)
	wantContains(t, "the run's reason", o.result(t).Reason, "cn_broken.c", "error:", "cn_broken_undeclared")
	if o.phase("qemu") != 0 {
		t.Error("QEMU ran although the module did not build")
	}
	if o.junit == nil {
		t.Errorf("no JUnit report for a MODULE_BUILD_FAIL run (%v): CI would show no result at all", o.jerr)
	} else if c, ok := o.junitCase(report.RunCaseName); !ok || c.outcome() != report.ModuleBuildFail {
		t.Errorf("JUnit report lacks a %s case of type %s", report.RunCaseName, report.ModuleBuildFail)
	}
}

// A module that builds but refuses to load (cn_fault with fail=1):
// MODULE_LOAD_FAIL naming finit_module's error, and the kernel's own
// explanation where a user looks.
func TestModuleLoadFail(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	o := boot(t, t.Context(), config{run: "^TestBefore$", params: "fail=1"})
	o.wantOutcome(t, report.ModuleLoadFail)
	res := o.result(t)
	wantContains(t, "the run's reason", res.Reason, "finit_module", "invalid argument", "fail=1")
	if b, err := os.ReadFile(res.ConsoleLog); err != nil {
		t.Errorf("console log: %v", err)
	} else {
		wantContains(t, "the console log", string(b), "cn_fault: load refused: fail=1")
	}
	if o.junit == nil {
		t.Fatalf("no JUnit report: %v", o.jerr)
	}
	c, ok := o.junitCase(report.RunCaseName)
	if !ok {
		t.Fatalf("JUnit report lacks a %s case", report.RunCaseName)
	}
	if c.outcome() != report.ModuleLoadFail {
		t.Errorf("JUnit %s case is %s, want %s", report.RunCaseName, c.outcome(), report.ModuleLoadFail)
	}
	// The kernel says why it refused; the report must show it.
	wantContains(t, "the "+report.RunCaseName+" JUnit case", c.text(), "cn_fault: load refused: fail=1")
	if o.hasEvent("run", "TestBefore") {
		t.Error("TestBefore ran although the module did not load")
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

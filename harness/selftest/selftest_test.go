// SPDX-License-Identifier: MIT

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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
)

const (
	// guestPkg is the guest test package, relative to the repository root.
	guestPkg = "./harness/selftest/guest"
	// stopTimeout bounds the guest in the host-side cases that stop a
	// run which would never end by itself (QEMU killed, the run
	// cancelled): they end within seconds unless the harness misses
	// the stop.
	stopTimeout = time.Minute
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
// The long cases go first: a hang that waits for its kernel report while
// the short cases run beside it ends the run sooner than one that starts
// last.
var vms = newGate(envInt("CNVMTEST_SELFTEST_VMS", 2))

// gate is a counting semaphore whose waiters are served by priority, then
// in the order they came.
type gate struct {
	mu      sync.Mutex
	free    int
	waiting []gateWaiter
}

type gateWaiter struct {
	prio  int
	ready chan struct{}
}

func newGate(n int) *gate { return &gate{free: n} }

// acquire waits for a slot; a waiter of higher prio gets one first.
func (g *gate) acquire(prio int) {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return
	}
	w := gateWaiter{prio: prio, ready: make(chan struct{})}
	i := len(g.waiting)
	for i > 0 && g.waiting[i-1].prio < prio {
		i--
	}
	g.waiting = slices.Insert(g.waiting, i, w)
	g.mu.Unlock()
	<-w.ready
}

// release frees a slot, for the first waiter if there is one.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) > 0 {
		w := g.waiting[0]
		g.waiting = g.waiting[1:]
		close(w.ready)
		return
	}
	g.free++
}

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
	// testTimeout is the runner's stall limit; default the harness's.
	testTimeout time.Duration
	kmod        string // module source; default faultmod
	params      string // module parameters
	// testsPkg is the guest test package, relative to the repository
	// root; default guestPkg.
	testsPkg   string
	env        []string     // the guest program's environment, added
	kernelArgs []string     // added to the kernel command line
	cpus       int          // guest CPUs; default 1
	kernel     string       // kernel spec; default the first of kernels()
	init       harness.Init // the guest's init; default the harness's
	// long: the case waits a long time for the kernel (a hang): it boots
	// before the others that wait for a guest.
	long bool
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
	t.Helper()
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
		Kernel:       cmp.Or(c.kernel, kernels()[0]),
		KmodDir:      kmod,
		ModuleParams: c.params,
		TestsDir:     root,
		TestsPkg:     cmp.Or(c.testsPkg, guestPkg),
		Env:          c.env,
		KernelArgs:   c.kernelArgs,
		Run:          c.run,
		Timeout:      timeout,
		TestTimeout:  c.testTimeout,
		Accel:        harness.AccelMode(os.Getenv("CNVMTEST_ACCEL")),
		Init:         c.init,
		JSON:         true,
		JUnit:        filepath.Join(t.TempDir(), "junit.xml"),
		OutDir:       outDir(t),
		CPUs:         cmp.Or(c.cpus, 1),
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

	prio := 0
	if c.long {
		prio = 1
	}
	vms.acquire(prio)
	defer vms.release()
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
	t.Helper()
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
	t.Helper()
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

// kernels are the kernels the fault cases run on: CNVMTEST_KERNEL, a
// comma-separated list (make selftest KERNEL=debian:6.1,debian:7.2), by
// default the harness's default kernel.
// archOf is the architecture a kernel spec names ("" when it does not parse).
func archOf(spec string) string {
	s, err := kernel.ParseSpec(spec)
	if err != nil {
		return ""
	}
	return s.Architecture()
}

// defaultQEMU is the QEMU binary of the first kernel's architecture.
func defaultQEMU(t *testing.T) string {
	spec, err := kernel.ParseSpec(kernels()[0])
	if err != nil {
		t.Fatalf("CNVMTEST_KERNEL: %v", err)
	}
	return vm.DefaultQEMUFor(spec.Architecture())
}

func kernels() []string {
	var ks []string
	for k := range strings.SplitSeq(os.Getenv("CNVMTEST_KERNEL"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		ks = []string{kernel.DefaultSpec}
	}
	return ks
}

// wantReport is the kernel report a fault plants, as the JUnit case of
// the guest test that planted it must show it.
type wantReport struct {
	kind klog.Kind
	// title are parts of the report's first line.
	title []string
	// archTitle replaces title on the kernels of an architecture (Go's
	// name, as archOf returns it) whose architecture code words the
	// report itself.
	archTitle map[string][]string
	// frames are the first functions of the fingerprint, in order.
	frames []string
}

// seenReport is a kernel report the harness attached to a test: it adds
// "<title> [<fingerprint>]" to the test's reasons (harness/run.go:
// attribute), and the JUnit case lists them one a line.
type seenReport struct {
	title       string
	kind        klog.Kind
	frames      []string
	fingerprint string
}

var reportLine = regexp.MustCompile(`^(.*) \[([A-Z_]+)\|([^\[\]]*)\]$`)

// reports returns the kernel reports attached to the case.
func (c junitCase) reports() []seenReport {
	p := c.problem()
	if p == nil {
		return nil
	}
	var rs []seenReport
	for line := range strings.Lines(p.Text) {
		m := reportLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		rs = append(rs, seenReport{title: m[1], kind: klog.Kind(m[2]), frames: strings.Split(m[3], "|"), fingerprint: m[2] + "|" + m[3]})
	}
	return rs
}

// wantReports checks that the case shows the planted report: its kind,
// its title and the top frames of its fingerprint. A failure found only
// by the taint backstop does not count: the scanner missed the report.
func wantReports(t *testing.T, c junitCase, want wantReport) {
	t.Helper()
	seen := c.reports()
	for _, r := range seen {
		if r.kind != want.kind {
			continue
		}
		var bad []string
		for _, s := range want.title {
			if !strings.Contains(r.title, s) {
				bad = append(bad, fmt.Sprintf("its title %q lacks %q", r.title, s))
			}
		}
		if len(r.frames) < len(want.frames) || !slices.Equal(r.frames[:len(want.frames)], want.frames) {
			bad = append(bad, fmt.Sprintf("its fingerprint %q does not start with %s", r.fingerprint, strings.Join(want.frames, "|")))
		}
		if len(bad) == 0 {
			return
		}
		t.Errorf("%s's %s report: %s", c.Name, want.kind, strings.Join(bad, "; "))
		return
	}
	msg := c.problem()
	why := ""
	if msg != nil && strings.Contains(msg.Message, "kernel tainted during the test") {
		why = " (it failed by the taint backstop alone: the console scanner did not recognise the report)"
	}
	t.Errorf("%s shows no %s report%s; it shows %d report(s): %+v", c.Name, want.kind, why, len(seen), seen)
}

// faultCase is one planted fault: a guest test of harness/selftest/guest
// run after TestBefore, and what the harness must make of it.
type faultCase struct {
	name  string
	guest string // the guest test that plants the fault
	// alone runs the guest test by itself, without TestBefore.
	alone bool
	init  harness.Init // the guest's init; "" for the default
	// timeout bounds the guest, testTimeout is the runner's stall limit;
	// zero for runTimeout and the harness's default.
	timeout, testTimeout time.Duration
	// long: the case spends most of its time waiting for the kernel, so
	// it gets a guest before the others (vms).
	long bool
	// debug: the case needs a detector Debian kernels lack or leave off
	// and belongs to make selftest-debug (CNVMTEST_DEBUG=1), not to make
	// selftest. It runs once, on the debug kernel (CNVMTEST_DEBUG_KERNEL)
	// unless plain is set, in which case on the first kernel of the list.
	debug, plain bool
	// kernelArgs are added to the kernel command line, params are the
	// module's, cpus the guest's CPUs (default 1).
	kernelArgs []string
	params     string
	cpus       int
	// needs, when set, says why the case cannot run, or "".
	needs func(t *testing.T) string
	// option is the kernel option (CONFIG_...) of the detector that
	// reports the fault: the case is skipped on a kernel built without
	// it, which cannot report the fault at all.
	option string

	outcome    report.Outcome // the run's
	testResult report.Outcome // the guest test's
	// selfPass: the guest test passes from its own point of view (the
	// harness must overrule it).
	selfPass   bool
	unfinished bool // the summary lists the guest test as unfinished
	report     *wantReport
	// runReport is a report the run must carry, not a test: one that
	// came after the last test (the module's unload, kmemleak's scan
	// after it). The guest test passes.
	runReport *wantReport
	// text and reason are parts of the guest test's JUnit case and of
	// the run's reason.
	text, reason []string
	// check, when set, replaces the common checks after the boot.
	check func(t *testing.T, o *outcome)
}

// The fault cases, the longest first: they run two at a time, and the
// hang's wait overlaps the rest.
var faultCases = []faultCase{
	{
		// A kernel hang: TestHang's sender blocks in TASK_UNINTERRUPTIBLE.
		// The guest test brings the hung task timeout down to 10 s, and
		// khungtaskd, which checks once per timeout period, reports the
		// task about 20 s after it blocked (21.6 s of uptime on 6.1 with a
		// 3 s boot). The timeout leaves the report that time and a margin:
		// the test binary's own timeout (0.8 of the runner's deadline,
		// which is 30 s of uptime: harness.go timeouts) fires about 24 s
		// after the binary started and prints the goroutines; the sender
		// cannot die, so the host stops the guest at 40 s: TIMEOUT.
		name: "Hang", guest: "TestHang", timeout: 40 * time.Second, long: true,
		outcome: report.Timeout, testResult: report.Timeout, unfinished: true,
		report: &wantReport{kind: klog.HungTask, title: []string{"INFO: task ", "blocked for more than 10 seconds"}, frames: []string{"cn_fault_hang", "cn_rx_skb"}},
		// The goroutine dump shows the sender stuck in its system call.
		text: []string{"[syscall]"},
	},
	{
		// A test that never returns, in user space. The runner's stall
		// limit (a few seconds here, not the default minutes: the path is
		// what is checked) finds that no test started or ended, dumps the
		// goroutines (SIGQUIT) and stops the binary: TIMEOUT (not FAIL:
		// nothing asserted and failed; not a KERNEL_*: the kernel is
		// fine), with the dump in TestNeverReturns' output.
		name: "NeverReturns", guest: "TestNeverReturns", timeout: runTimeout, testTimeout: 5 * time.Second,
		outcome: report.Timeout, testResult: report.Timeout, unfinished: true,
		text: []string{"no test started or ended for 5s", "TestNeverReturns", "select (no cases)"},
	},
	{
		// A WARN_ON(1) during TestWarn: the kernel lives and TestWarn
		// passes from its own point of view, but the run is KERNEL_SPLAT
		// and TestWarn carries the warning. With both inits: the runner as
		// /init (the default) and as u-root's uinit must mark tests in the
		// kernel log alike.
		name: "Warn/runner", guest: "TestWarn", init: harness.InitRunner,
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.Warning, title: []string{"WARNING: ", "cn_fault.c:", "cn_fault_warn+"}, frames: []string{"cn_fault_warn", "cn_rx_skb"}},
		text:   []string{"end trace"},
	},
	{
		name: "Warn/u-root", guest: "TestWarn", init: harness.InitURoot,
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.Warning, title: []string{"WARNING: ", "cn_fault.c:", "cn_fault_warn+"}, frames: []string{"cn_fault_warn", "cn_rx_skb"}},
		text:   []string{"end trace"},
	},
	{
		// A NULL pointer dereference in the sendmsg() of TestOops' helper
		// process: an oops; the kernel lives.
		name: "Oops", guest: "TestOops",
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.Oops, title: []string{"BUG: kernel NULL pointer dereference"},
			archTitle: map[string][]string{
				// arm64 says it as arch/arm64/mm/fault.c: die_kernel_fault does.
				"arm64": {"Unable to handle kernel NULL pointer dereference"},
				// s390: the module writes to address 0 there (cn_fault.c),
				// which low-address protection stops; arch/s390/mm/fault.c
				// (do_low_address, do_no_context) names no NULL pointer.
				"s390x": {"Unable to handle kernel pointer dereference in virtual kernel address space"},
			},
			frames: []string{"cn_fault_oops", "cn_rx_skb"}},
		text: []string{"Oops"},
	},
	{
		// panic() during TestPanic: KERNEL_PANIC, blamed on TestPanic.
		name: "Panic", guest: "TestPanic",
		outcome: report.KernelPanic, testResult: report.KernelPanic, unfinished: true,
		report: &wantReport{kind: klog.Panic, title: []string{"Kernel panic - not syncing: cn_fault: requested panic"}, frames: []string{"cn_fault_panic", "cn_rx_skb"}},
		reason: []string{"cn_fault: requested panic"},
	},
	{
		// A crash of the Go runtime in the test binary: the kernel is
		// fine, the run is FAIL and names TestGoCrash, with the panic in
		// its output.
		name: "GoCrash", guest: "TestGoCrash",
		outcome: report.Fail, testResult: report.Fail, unfinished: true,
		text:   []string{"assignment to entry in nil map", "goroutine "},
		reason: []string{"TestGoCrash"},
	},
	{
		// The late-reply control: an id of the fault module that replies
		// from a workqueue after a delay; the suite's one windowed check
		// must catch the reply that comes after its window.
		name: "LateReply", guest: "TestLateReply", alone: true, needs: needGuestTest("TestLateReply"),
		outcome: report.Fail, testResult: report.Fail,
		text: []string{"late"},
	},
	{
		// A soft lockup: TestSoftLockup's send spins 6 s with preemption
		// off. watchdog_thresh=1 makes the soft-lockup threshold 2 s
		// (kernel/watchdog.c: get_softlockup_thresh is twice
		// watchdog_thresh; 1 is the smallest value the command line's
		// watchdog_thresh= accepts and is the same on 5.10 to 7.2). The
		// report comes from the watchdog's timer interrupt on the stuck
		// CPU, so its stack is the spinning task's, under the interrupt.
		//
		// s390 has no soft-lockup detector: lib/Kconfig.debug makes
		// SOFTLOCKUP_DETECTOR depend on !S390 (6.1, 6.12), so the case is
		// skipped on Debian's s390x kernels.
		name: "SoftLockup", guest: "TestSoftLockup", kernelArgs: []string{"watchdog_thresh=1"}, option: "CONFIG_SOFTLOCKUP_DETECTOR",
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.SoftLockup, title: []string{"BUG: soft lockup - CPU#0 stuck for "}, frames: []string{"cn_fault_spin"}},
	},
	{
		// An RCU stall: TestRCUStall's send spins 6 s in an RCU read-side
		// section with preemption off, after a call_rcu().
		// rcupdate.rcu_cpu_stall_timeout=3 is the smallest timeout RCU
		// takes (kernel/rcu/tree_stall.h: rcu_jiffies_till_stall_check
		// raises anything below 3 s to 3 s, on 5.10 as on 7.2). Two CPUs:
		// the grace period kthread must run to start the grace period
		// that the spinning CPU then stalls, and the spinning CPU reports
		// itself from its tick ("self-detected stall").
		name: "RCUStall", guest: "TestRCUStall", kernelArgs: []string{"rcupdate.rcu_cpu_stall_timeout=3"}, cpus: 2,
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.RCUStall, title: []string{"rcu: INFO: ", "stall"}, frames: []string{"cn_fault_spin"}},
	},
	{
		// A WARN in the module's exit (warn_exit=1), during the runner's
		// unload of the module after the last test: the run's report, not
		// TestBefore's, which ended before the unload began.
		name: "UnloadWarn", guest: "TestBefore", alone: true, params: "warn_exit=1",
		outcome:   report.KernelSplat,
		runReport: &wantReport{kind: klog.Warning, title: []string{"WARNING: ", "cn_fault_exit+"}, frames: []string{"cn_fault_exit"}},
		reason:    []string{"cn_fault_exit"},
	},
	{
		// A leak only kmemleak can see, on the debug kernel (Debian
		// kernels have no kmemleak). TestLeak asks kmemleak to scan until
		// /sys/kernel/debug/kmemleak lists the object with cn_fault_leak
		// in its backtrace, and passes; the scan that finds it prints
		// "1 new suspected memory leaks" (mm/kmemleak.c kmemleak_scan), a
		// report during TestLeak, which fails it. The runner's scans after
		// the module's unload print the object itself, a report of the
		// run: its backtrace is the one TestLeak saw, but with the
		// module gone cn_fault_leak is a bare address (kmemleak resolves
		// the stored stack when it prints it), so the fingerprint starts
		// at cn_rx_skb and the object is told by its contents, the
		// module's 0xcf fill.
		name: "Leak", guest: "TestLeak", debug: true, timeout: 8 * time.Minute,
		check: func(t *testing.T, o *outcome) {
			o.wantOutcome(t, report.KernelSplat)
			o.wantSummary(t, 2, 1, 1)
			c := o.wantTest(t, "TestLeak", report.KernelSplat)
			wantReports(t, c, wantReport{kind: klog.Kmemleak, title: []string{"new suspected memory leaks"}})
			wantContains(t, "TestLeak's JUnit case", c.text(), "kmemleak sees the leak", "cn_fault_leak")
			o.wantRunReport(t, wantReport{kind: klog.Kmemleak, title: []string{"unreferenced object 0x", "(size 64)"}, frames: []string{"cn_rx_skb", "netlink_unicast"}})
			b, err := os.ReadFile(o.result(t).ConsoleLog)
			if err != nil {
				t.Fatalf("console log: %v", err)
			}
			_, after, ok := strings.Cut(string(b), "cnvmtest: kmemleak: scanning after the run")
			if !ok {
				t.Fatal("the console log does not show the runner's kmemleak scan after the run")
			}
			wantContains(t, "the console after the runner's scan", after, "unreferenced object", "cf cf cf cf cf cf cf cf", "cn_rx_skb")
		},
	},
	{
		// A use-after-free in the module: on a KASAN kernel (the debug
		// flavour), KASAN's report fails the test that triggered it.
		name: "UseAfterFree", guest: "TestUseAfterFree", debug: true, timeout: 8 * time.Minute,
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.KASAN, title: []string{"BUG: KASAN: ", "cn_fault_"}, frames: []string{"cn_fault_uaf"}},
	},
	{
		// A circular locking dependency: TestLockdep takes the module's
		// locks A then B, then B then A. Lockdep (the debug kernel)
		// reports it at the second order's second lock.
		name: "Lockdep", guest: "TestLockdep", debug: true, timeout: 8 * time.Minute,
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.Lockdep, title: []string{"possible circular locking dependency detected"}, frames: []string{"cn_fault_lock_ba"}},
	},
	{
		// A double free with SLUB debugging: slub_debug=F turns on SLUB's
		// consistency checks (mm/slub.c: free_consistency_checks, "Object
		// already free"). On a Debian kernel, not the debug one: there
		// KASAN sees the second kfree() first (mm/kasan/common.c:
		// __kasan_slab_free reports the double free and keeps the object
		// from SLUB), so SLUB's report never comes.
		name: "SlubDoubleFree", guest: "TestDoubleFree", debug: true, plain: true, kernelArgs: []string{"slub_debug=F"},
		outcome: report.KernelSplat, testResult: report.KernelSplat, selfPass: true,
		report: &wantReport{kind: klog.Slab, title: []string{"BUG kmalloc-", "Object already free"}, frames: []string{"cn_fault_double_free"}},
	},
}

// kernelOption reports whether the kernel spec names was built with
// option (CONFIG_X=y), from the config its store entry keeps; it gets the
// kernel as the boot would.
func kernelOption(t *testing.T, spec, option string) bool {
	t.Helper()
	s, err := kernel.ParseSpec(spec)
	if err != nil {
		t.Fatalf("kernel %s: %v", spec, err)
	}
	store, err := kernel.DefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.Get(t.Context(), s, nil)
	if err != nil {
		t.Fatalf("kernel %s: %v", spec, err)
	}
	b, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatalf("kernel %s: %v", spec, err)
	}
	return hasOption(b, option)
}

// hasOption reports whether the kernel .config text config sets option
// to y.
func hasOption(config []byte, option string) bool {
	for line := range bytes.Lines(config) {
		if string(bytes.TrimSpace(line)) == option+"=y" {
			return true
		}
	}
	return false
}

// needGuestTest skips a case whose guest test is not in the guest
// package yet.
func needGuestTest(name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(repoRoot(t), filepath.FromSlash(guestPkg), "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("func "+name+"(")) {
				return ""
			}
		}
		return fmt.Sprintf("the guest package %s has no %s yet (the fault module's late-reply id and its guest test come with the late-reply control)", guestPkg, name)
	}
}

// TestFaults boots one guest per fault case and kernel, two at a time
// and the long cases of every kernel first (vms), alongside the
// host-side cases.
func TestFaults(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	debug := os.Getenv("CNVMTEST_DEBUG") == "1"
	for _, fc := range faultCases {
		if fc.debug != debug {
			continue
		}
		if fc.debug {
			t.Run(fc.name, func(t *testing.T) {
				t.Parallel()
				k := kernels()[0]
				if !fc.plain {
					if k = os.Getenv("CNVMTEST_DEBUG_KERNEL"); k == "" {
						t.Skip("needs the debug kernel in CNVMTEST_DEBUG_KERNEL: make selftest-debug")
					}
				}
				fc.run(t, k)
			})
			continue
		}
		for _, k := range kernels() {
			t.Run(fc.name+"/"+k, func(t *testing.T) {
				t.Parallel()
				fc.run(t, k)
			})
		}
	}
}

func (fc faultCase) run(t *testing.T, kernel string) {
	t.Helper()
	if fc.needs != nil {
		if why := fc.needs(t); why != "" {
			t.Skip(why)
		}
	}
	if fc.option != "" && !kernelOption(t, kernel, fc.option) {
		t.Skipf("kernel %s is built without %s: it cannot report this fault", kernel, fc.option)
	}
	timeout := cmp.Or(fc.timeout, runTimeout)
	run, tests, passed := "^(TestBefore|"+fc.guest+")$", 2, 1
	if fc.alone {
		run, tests, passed = "^"+fc.guest+"$", 1, 0
	}
	o := boot(t, t.Context(), config{
		run: run, kernel: kernel, init: fc.init, params: fc.params,
		kernelArgs: fc.kernelArgs, cpus: fc.cpus,
		timeout: timeout, testTimeout: fc.testTimeout, long: fc.long,
	})
	if !fc.alone {
		o.wantBeforeKept(t)
	}
	o.wantWall(t, timeout)
	if fc.check != nil {
		fc.check(t, o)
		return
	}
	o.wantOutcome(t, fc.outcome)
	if fc.runReport != nil {
		fc.checkRunReport(t, o, tests, passed)
		return
	}
	var unfinished []string
	if fc.unfinished {
		unfinished = []string{fc.guest}
	}
	o.wantSummary(t, tests, passed, 1, unfinished...)
	o.wantNoRunCase(t)
	if fc.selfPass && !o.hasEvent("pass", fc.guest) {
		t.Errorf("%s did not pass from its own point of view: the guest test is broken", fc.guest)
	}
	c := o.wantTest(t, fc.guest, fc.testResult)
	if fc.report != nil {
		want := *fc.report
		if t, ok := want.archTitle[archOf(kernel)]; ok {
			want.title = t
		}
		wantReports(t, c, want)
		if before, ok := o.junitCase("TestBefore"); ok && !fc.alone && len(before.reports()) > 0 {
			t.Errorf("TestBefore carries kernel reports too: %+v", before.reports())
		}
	} else if rs := c.reports(); len(rs) > 0 {
		t.Errorf("%s carries kernel reports, but no kernel fault was planted: %+v", fc.guest, rs)
	}
	wantContains(t, fc.guest+"'s JUnit case", c.text(), fc.text...)
	wantContains(t, "the run's reason", o.result(t).Reason, fc.reason...)
}

// checkRunReport checks a case whose report belongs to the run: every
// test passed and carries no report, and the JUnit case of the run shows
// the report.
func (fc faultCase) checkRunReport(t *testing.T, o *outcome, tests, passed int) {
	t.Helper()
	o.wantSummary(t, tests, passed+1, 0)
	for _, c := range o.junit {
		if c.Name != report.RunCaseName && len(c.reports()) > 0 {
			t.Errorf("%s carries kernel reports %+v: the report came after the last test and is the run's", c.Name, c.reports())
		}
	}
	o.wantTest(t, fc.guest, report.Pass)
	o.wantRunReport(t, *fc.runReport)
	c, ok := o.junitCase(report.RunCaseName)
	if !ok {
		t.Fatalf("JUnit report has no %s case for the run's report", report.RunCaseName)
	}
	if c.outcome() != fc.outcome {
		t.Errorf("JUnit %s case is %s, want %s", report.RunCaseName, c.outcome(), fc.outcome)
	}
	wantReports(t, c, *fc.runReport)
	wantContains(t, "the run's reason", o.result(t).Reason, fc.reason...)
}

// wantRunReport checks that the run itself (Summary.Reports, what the
// harness attached to no test) carries the report.
func (o *outcome) wantRunReport(t *testing.T, want wantReport) {
	t.Helper()
	var b strings.Builder
	for _, r := range o.result(t).Summary.Reports {
		b.WriteString(r + "\n")
	}
	wantReports(t, junitCase{Name: "the run", Failure: &junitProblem{Text: b.String()}}, want)
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
	real, err := exec.LookPath(envOr("VMTEST_QEMU", defaultQEMU(t)))
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

	o := boot(t, t.Context(), config{run: "^(TestBefore|TestNeverReturns)$", timeout: stopTimeout})
	o.wantOutcome(t, report.Infra)
	// INFRA says the host failed: the reason must point at QEMU, not
	// leave the user to suspect the guest.
	if r := o.result(t).Reason; !strings.Contains(r, "QEMU") {
		t.Errorf("the run's reason %q does not say that QEMU died", r)
	}
	o.wantBeforeKept(t)
	o.wantSummary(t, 2, 1, 1, "TestNeverReturns")
	o.wantTest(t, "TestNeverReturns", report.Infra)
	if o.wall > stopTimeout/2 {
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
		timeout: stopTimeout,
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
	missing := "/nonexistent/" + defaultQEMU(t)
	t.Setenv("VMTEST_QEMU", missing)
	o := boot(t, t.Context(), config{run: "^TestBefore$"})
	if o.err == nil {
		t.Fatalf("harness.Run succeeded without QEMU: outcome %s", o.res.Outcome)
	}
	wantContains(t, "the error", o.err.Error(), missing, "make deps")
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

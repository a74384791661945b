// SPDX-License-Identifier: MIT

package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"github.com/cnvmtest/cnvmtest/internal/gotest"
)

// Options configure a Recorder.
type Options struct {
	// Out receives the report while the run goes on. Nil discards it.
	Out io.Writer
	// Verbose prints every test's output as go test -v does. Otherwise
	// only failing tests are shown, as go test does without -v.
	Verbose bool
	// JSON prints the events as go test -json does, one a line, instead
	// of text. Verbose is then irrelevant.
	JSON bool
	// Package names the package in the events and lines the recorder
	// makes up when the stream named none, for instance when the guest
	// never started. It may be empty.
	Package string
}

// A Recorder consumes the test2json events of a run as they arrive,
// prints them at once in the chosen format and keeps each test's result.
// Its methods may be called from several goroutines: the result channel
// reader calls Event while the console reader calls Attach.
type Recorder struct {
	mu   sync.Mutex
	opts Options
	out  io.Writer
	err  error
	now  func() time.Time // replaced in tests

	tests     map[testKey]*test
	order     []*test // in the order they started
	pkgs      map[string]*pkg
	pkgList   []*pkg
	pending   map[string]*attachment // for tests not seen yet, by name
	knownBugs []KnownBug
	expected  map[string][]ExpectedBug // by test

	run       attachment // attached to the run as a whole (test "")
	finished  Outcome    // what Finish said of the run
	finishWhy string     // and why
	lastName  string     // the test that printed last, for "=== NAME" lines
	firstTime time.Time
	lastTime  time.Time
}

type testKey struct{ pkg, name string }

// attachment is what Attach adds to a test or to the run.
type attachment struct {
	kernelLog strings.Builder
	reports   []string
	outcome   Outcome
}

func (a *attachment) add(kernelLog string, outcome Outcome, reason string) {
	a.kernelLog.WriteString(kernelLog)
	if kernelLog != "" && !strings.HasSuffix(kernelLog, "\n") {
		a.kernelLog.WriteByte('\n')
	}
	if reason != "" {
		a.reports = append(a.reports, reason)
	}
	if outcome != "" {
		a.outcome = outcome
	}
}

func (a *attachment) merge(b *attachment) {
	a.add(b.kernelLog.String(), b.outcome, "")
	a.reports = append(a.reports, b.reports...)
}

// test is the state of one test or subtest.
type test struct {
	pkg, name string
	parent    *test
	children  []*test
	depth     int // 1 for a top-level test
	started   time.Time

	action   string  // pass, fail or skip once finished
	elapsed  float64 // seconds
	closedBy Outcome // the outcome Finish gave it
	closeWhy string
	attach   attachment

	output  strings.Builder // everything test2json attributed to the test
	partial string          // an output line still missing its newline

	result      string   // its "--- PASS: ..." line, without indentation
	resultVerb  string   // PASS, FAIL or SKIP from that line
	subResults  []string // verbose: subtest result lines printed with this test's own
	quietReport []string // quiet: the lines of its failure report

	// A benchmark that passes gets no pass event, only its result line
	// ("BenchmarkX-8  1000  1234 ns/op"); see settleBenchmarks.
	benchResult bool      // it printed its result line
	lastOutput  time.Time // when it last printed anything
}

func (t *test) done() bool { return t.action != "" }

func (t *test) hasRunningChild() bool {
	for _, c := range t.children {
		if !c.done() {
			return true
		}
	}
	return false
}

// outcome is the test's outcome as the results report it.
func (t *test) outcome() Outcome {
	switch {
	case t.attach.outcome != "":
		return t.attach.outcome
	case t.closedBy != "":
		return t.closedBy
	case t.action == actionPass:
		return Pass
	case t.action == actionSkip:
		return Skip
	case t.action == actionFail:
		return Fail
	}
	return ""
}

// pkg is the state of one package's test binary.
type pkg struct {
	name       string
	started    time.Time
	action     string // the package-level pass, fail or skip
	elapsed    float64
	sawSummary bool // an "ok" or "FAIL" line for the package was printed
	tests      int
	partial    string
}

// NewRecorder returns a Recorder that prints to opts.Out.
func NewRecorder(opts Options) *Recorder {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	return &Recorder{
		opts:    opts,
		out:     out,
		now:     time.Now,
		tests:   make(map[testKey]*test),
		pkgs:    make(map[string]*pkg),
		pending: make(map[string]*attachment),
	}
}

// Err returns the first error met writing to Options.Out.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Event records e and prints what it adds to the report at once.
// It returns an error only if writing to Options.Out failed; the event is
// recorded all the same.
func (r *Recorder) Event(e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.err
	r.event(e)
	if r.err != before {
		return r.err
	}
	return nil
}

func (r *Recorder) event(e Event) {
	if !e.Time.IsZero() {
		if r.firstTime.IsZero() {
			r.firstTime = e.Time
		}
		r.lastTime = e.Time
	}
	p := r.pkg(e.Package, e.Time)
	if e.Test == "" {
		r.pkgEvent(p, e)
		return
	}
	r.testEvent(p, e)
}

func (r *Recorder) pkg(name string, at time.Time) *pkg {
	if name == "" {
		name = r.opts.Package
	}
	p, ok := r.pkgs[name]
	if !ok {
		p = &pkg{name: name, started: at}
		r.pkgs[name] = p
		r.pkgList = append(r.pkgList, p)
	}
	if p.started.IsZero() {
		p.started = at
	}
	return p
}

func (r *Recorder) test(p *pkg, name string, at time.Time) *test {
	k := testKey{p.name, name}
	if t, ok := r.tests[k]; ok {
		return t
	}
	t := &test{pkg: p.name, name: name, started: at, depth: 1}
	// The parent is the longest known prefix ending before a slash: a
	// subtest name may itself contain slashes.
	for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
		if parent, ok := r.tests[testKey{p.name, name[:i]}]; ok {
			t.parent = parent
			t.depth = parent.depth + 1
			parent.children = append(parent.children, t)
			break
		}
	}
	if a, ok := r.pending[name]; ok {
		t.attach.merge(a)
		delete(r.pending, name)
	}
	r.tests[k] = t
	r.order = append(r.order, t)
	p.tests++
	return t
}

func (r *Recorder) pkgEvent(p *pkg, e Event) {
	switch e.Action {
	case actionOutput:
		r.writeJSON(e)
		for _, line := range splitLines(&p.partial, e.Output) {
			if isSummaryLine(line) {
				p.sawSummary = true
			}
			r.pkgLine(line)
		}
	case actionPass, actionFail, actionSkip:
		if p.action == "" {
			r.settleBenchmarks(p, e.Action == actionPass, e.Time)
		}
		if p.partial != "" {
			r.pkgLine(p.partial + "\n")
			p.partial = ""
		}
		if !p.sawSummary {
			// A test binary run through test2json never prints the
			// line go test adds: make it up, as go test -json would.
			r.event(Event{Time: e.Time, Action: actionOutput, Package: e.Package, Output: summaryLine(p, e)})
		}
		r.writeJSON(e)
		if p.action == "" {
			p.action = e.Action
			p.elapsed = e.Elapsed
		}
	default:
		r.writeJSON(e)
	}
}

// summaryLine is the line go test prints after a package's tests.
func summaryLine(p *pkg, e Event) string {
	switch e.Action {
	case actionPass:
		if p.tests == 0 {
			return fmt.Sprintf("ok  \t%s\t%.3fs [no tests to run]\n", p.name, e.Elapsed)
		}
		return fmt.Sprintf("ok  \t%s\t%.3fs\n", p.name, e.Elapsed)
	case actionSkip:
		return fmt.Sprintf("?   \t%s\t[no test files]\n", p.name)
	}
	return fmt.Sprintf("FAIL\t%s\t%.3fs\n", p.name, e.Elapsed)
}

func isSummaryLine(line string) bool {
	return strings.HasPrefix(line, "ok  \t") || strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(line, "?   \t")
}

func (r *Recorder) testEvent(p *pkg, e Event) {
	t := r.test(p, e.Test, e.Time)
	switch e.Action {
	case actionOutput:
		r.writeJSON(e)
		t.output.WriteString(e.Output)
		if !e.Time.IsZero() {
			t.lastOutput = e.Time
		}
		for _, line := range splitLines(&t.partial, e.Output) {
			if !t.benchResult && gotest.IsBenchResult(line, t.name) {
				t.benchResult = true
			}
			r.knownBug(t, line)
			r.testLine(t, line)
		}
	case actionPass, actionFail, actionSkip:
		if t.done() {
			r.writeJSON(e) // a repeated result changes nothing
			return
		}
		if t.partial != "" {
			line := t.partial + "\n"
			t.partial = ""
			r.testLine(t, line)
		}
		if t.result == "" {
			// Streams from test2json always carry the result line;
			// make it up for those that do not, and for Finish.
			verb := strings.ToUpper(e.Action)
			r.event(Event{Time: e.Time, Action: actionOutput, Package: e.Package, Test: e.Test,
				Output: fmt.Sprintf("--- %s: %s (%.2fs)\n", verb, t.name, e.Elapsed)})
		}
		r.writeJSON(e)
		t.action = e.Action
		t.elapsed = e.Elapsed
		r.testDone(t)
	default:
		r.writeJSON(e)
	}
}

// AddKnownBug records a known kernel bug the harness recognised itself,
// such as a kernel report that is one.
func (r *Recorder) AddKnownBug(b KnownBug) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addKnownBug(b)
}

func (r *Recorder) addKnownBug(b KnownBug) {
	for _, k := range r.knownBugs {
		if k.ID == b.ID && k.Test == b.Test {
			return
		}
	}
	r.knownBugs = append(r.knownBugs, b)
}

// ExpectedBug is a known kernel bug a test said it is about to trigger,
// with a function its kernel report will show (guest.KnownBugExpectPrefix).
type ExpectedBug struct{ ID, Frame string }

// ExpectedBugs returns the known bugs test said it would trigger.
func (r *Recorder) ExpectedBugs(test string) []ExpectedBug {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.expected[test])
}

// knownBug records a known kernel bug that line says test t observed, or
// one it is about to trigger.
func (r *Recorder) knownBug(t *test, line string) {
	if _, rest, ok := strings.Cut(line, guest.KnownBugExpectPrefix); ok {
		id, frame, _ := strings.Cut(strings.TrimSpace(rest), ": ")
		if r.expected == nil {
			r.expected = map[string][]ExpectedBug{}
		}
		r.expected[t.name] = append(r.expected[t.name], ExpectedBug{ID: id, Frame: frame})
		return
	}
	_, rest, ok := strings.Cut(line, guest.KnownBugPrefix)
	if !ok {
		return
	}
	id, text, _ := strings.Cut(strings.TrimSpace(rest), ": ")
	r.addKnownBug(KnownBug{ID: id, Test: t.name, Text: text})
}

// splitLines appends s to *partial and returns the complete lines in it,
// each with its newline, leaving the rest in *partial.
func splitLines(partial *string, s string) []string {
	s = *partial + s
	var lines []string
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	*partial = s
	return lines
}

// resultVerb returns PASS, FAIL or SKIP if line is name's result line:
// "--- FAIL: TestX (0.01s)", or for a benchmark, which has no time,
// "--- FAIL: BenchmarkX".
func resultVerb(line, name string) string {
	line = strings.TrimLeft(line, " ")
	for _, verb := range []string{"PASS", "FAIL", "SKIP"} {
		if rest, ok := strings.CutPrefix(line, "--- "+verb+": "+name); ok &&
			(strings.HasPrefix(rest, " (") || strings.TrimRight(rest, "\r\n") == "") {
			return verb
		}
	}
	return ""
}

// settleBenchmarks ends the benchmarks of p still open when its test
// binary is done (or gone, from Finish): go test gives a benchmark that
// passes no pass event, only its result line, while one that fails or is
// skipped gets its fail or skip event. An open benchmark passed if the
// package passed, if it printed its result line, or if it ran
// sub-benchmarks that all ended and none failed. What is still open after
// that was running when the binary failed or died, and Finish closes it
// as it closes a test that did not finish. Nothing is printed and no
// event is made up, so the JSON stream stays go test's.
func (r *Recorder) settleBenchmarks(p *pkg, pkgPassed bool, at time.Time) {
	for i := len(r.order) - 1; i >= 0; i-- { // sub-benchmarks before their parents
		t := r.order[i]
		if t.pkg != p.name || t.done() || !gotest.IsBenchmark(t.name) {
			continue
		}
		if !pkgPassed && !t.benchResult && !t.subBenchmarksPassed() {
			continue
		}
		t.action = actionPass
		t.elapsed = since(t.started, t.lastActive(at), 2)
	}
}

// subBenchmarksPassed reports whether t has sub-benchmarks and all of them
// ended without failing.
func (t *test) subBenchmarksPassed() bool {
	for _, c := range t.children {
		if !c.done() || c.action == actionFail {
			return false
		}
	}
	return len(t.children) > 0
}

// lastActive is when t or a subtest last printed, or def if never.
func (t *test) lastActive(def time.Time) time.Time {
	last := t.lastOutput
	for _, c := range t.children {
		if cl := c.lastActive(time.Time{}); cl.After(last) {
			last = cl
		}
	}
	if last.IsZero() {
		return def
	}
	return last
}

// Attachment is what the harness learned of a test, or of the run, from
// outside the test's own events: a slice of the kernel log and, when
// Outcome is not empty, a new outcome with its reason (for instance the
// title of the kernel splat that changed it).
type Attachment struct {
	// Test is the test's name, "" for the run itself.
	Test      string
	KernelLog string
	// Outcome, when not empty, wins over the one the test reported:
	// a passing test during which the kernel warned becomes
	// KERNEL_SPLAT.
	Outcome Outcome
	// Reason, when not empty, joins the test's Reports.
	Reason string
}

// Attach adds what a carries to its test, or to the run. A verdict change
// is printed at once, with the kernel log; a plain log attachment is only
// kept for the results. A test not seen yet gets the attachment when it
// starts.
func (r *Recorder) Attach(at Attachment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var a *attachment
	var pkgName string
	switch t := r.findTest(at.Test); {
	case at.Test == "":
		a = &r.run
		pkgName = r.defaultPkg()
	case t != nil:
		a = &t.attach
		pkgName = t.pkg
	default:
		if r.pending[at.Test] == nil {
			r.pending[at.Test] = &attachment{}
		}
		a = r.pending[at.Test]
		pkgName = r.defaultPkg()
	}
	a.add(at.KernelLog, at.Outcome, at.Reason)
	if at.Outcome != "" {
		r.notice(pkgName, at.Test, verdictText(at))
	}
}

func (r *Recorder) findTest(name string) *test {
	if name == "" {
		return nil
	}
	if t, ok := r.tests[testKey{r.defaultPkg(), name}]; ok {
		return t
	}
	for _, t := range r.order {
		if t.name == name {
			return t
		}
	}
	return nil
}

func (r *Recorder) defaultPkg() string {
	if len(r.pkgList) > 0 {
		return r.pkgList[0].name
	}
	return r.opts.Package
}

// Finish ends the run. Benchmarks that printed their result line passed
// (go test gives them no pass event; see settleBenchmarks). Tests and
// benchmarks that started and never finished, because the guest crashed,
// hung or was killed, are closed as failed: their outcome is
// runOutcome when that is neither PASS, SKIP nor FAIL, else FAIL, and
// reason (for example "kernel panic while running") is printed with them.
// Packages whose binary never reported are closed as failed too.
// runOutcome and reason also become the run's own outcome, which a
// summary weighs against the tests' outcomes. Call Finish once, after the
// last event; events after it are still recorded.
func (r *Recorder) Finish(runOutcome Outcome, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = worse(r.finished, runOutcome)
	if reason != "" && r.finishWhy == "" {
		r.finishWhy = reason
	}
	closeAs := runOutcome
	if !closeAs.Failed() {
		closeAs = Fail
	}
	why := reason
	if why == "" {
		why = "test did not finish"
	}
	now := r.now()
	for _, p := range r.pkgList {
		if p.action == "" {
			r.settleBenchmarks(p, false, now)
		}
	}
	// Say why next to the tests that were running, not their parents.
	running := make(map[*test]bool)
	for _, t := range r.order {
		if !t.done() && !t.hasRunningChild() {
			running[t] = true
		}
	}
	for _, b := range r.knownBugs {
		r.notice(r.defaultPkg(), "", "cnvmtest: "+b.String()+"\n")
	}
	closedAny := false
	for i := len(r.order) - 1; i >= 0; i-- {
		t := r.order[i]
		if t.done() {
			continue
		}
		closedAny = true
		if t.result == "" && running[t] {
			r.event(Event{Time: now, Action: actionOutput, Package: t.pkg, Test: t.name,
				Output: fmt.Sprintf("    cnvmtest: %s: %s\n", closeAs, why)})
		}
		action := actionFail
		if t.resultVerb != "" {
			action = strings.ToLower(t.resultVerb) // only its event was lost
		}
		if action == actionFail {
			t.closedBy, t.closeWhy = closeAs, why
		}
		r.event(Event{Time: now, Action: action, Package: t.pkg, Test: t.name, Elapsed: since(t.started, now, 2)})
	}
	for _, p := range r.pkgList {
		if p.action != "" {
			continue
		}
		closedAny = true
		r.event(Event{Time: now, Action: actionFail, Package: p.name, Elapsed: since(p.started, now, 3)})
	}
	if !runOutcome.Failed() || runOutcome == Fail || closedAny {
		return
	}
	msg := string(runOutcome)
	if reason != "" {
		msg += ": " + reason
	}
	if len(r.pkgList) == 0 && r.opts.Package != "" {
		// Nothing ran: say so in the place go test says a package failed.
		r.event(Event{Time: now, Action: actionStart, Package: r.opts.Package})
		r.event(Event{Time: now, Action: actionOutput, Package: r.opts.Package,
			Output: fmt.Sprintf("FAIL\t%s [%s]\n", r.opts.Package, msg)})
		r.event(Event{Time: now, Action: actionFail, Package: r.opts.Package})
		return
	}
	r.notice(r.defaultPkg(), "", "cnvmtest: "+msg+"\n")
}

// since returns the seconds from start to now rounded to the given number
// of decimals, as go test prints durations, or 0 when start is unknown.
func since(start, now time.Time, decimals int) float64 {
	d := now.Sub(start)
	if start.IsZero() || d < 0 {
		return 0
	}
	scale := math.Pow10(decimals)
	return math.Round(d.Seconds()*scale) / scale
}

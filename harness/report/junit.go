// SPDX-License-Identifier: MIT

package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// RunCaseName names the test case WriteJUnit adds for a failure of the run
// itself (the kernel did not boot, a splat during module unload, no test ran)
// so that a JUnit viewer shows it.
const RunCaseName = "[run]"

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr,omitempty"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	elapsed    time.Duration
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
	SystemErr *junitText    `xml:"system-err,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

// WriteJUnit writes results as JUnit XML: one <testsuite> per package, one
// <testcase> per test and subtest. A test's output is in <system-out>, or
// in the text of its <failure> or <error> after the reports when it
// failed; its kernel log slice is in <system-err>. FAIL and KERNEL_SPLAT are <failure>s;
// outcomes that stopped the test from completing (KERNEL_PANIC, TIMEOUT,
// INFRA...) are <error>s. props become the suites' <properties> (kernel
// version, accelerator...), with the run's outcome added. A failure of the
// run that no test shows gets a test case of its own, named RunCaseName,
// holding the run's kernel log. Characters XML cannot carry are replaced
// by U+FFFD.
func WriteJUnit(w io.Writer, suiteName string, props map[string]string, results []TestResult, run RunSummary) error {
	doc := junitSuites{Name: suiteName}
	properties := junitProperties(props, run)
	var suites []*junitSuite
	byPkg := make(map[string]*junitSuite)
	suiteFor := func(name string) *junitSuite {
		s, ok := byPkg[name]
		if !ok {
			s = &junitSuite{Name: name, Properties: properties}
			if !run.Started.IsZero() {
				s.Timestamp = run.Started.UTC().Format(time.RFC3339)
			}
			byPkg[name] = s
			suites = append(suites, s)
		}
		return s
	}
	failingTests := false
	for _, res := range results {
		s := suiteFor(res.Package)
		s.add(testCase(res))
		if !strings.Contains(res.Name, "/") {
			s.elapsed += res.Elapsed
		}
		failingTests = failingTests || res.Outcome.Failed()
	}
	if c, ok := runCase(run, failingTests); ok {
		name := suiteName
		if len(suites) > 0 {
			name = suites[0].Name
		}
		c.Classname = name
		suiteFor(name).add(c)
	}
	for _, s := range suites {
		if len(suites) == 1 && run.Elapsed > 0 {
			s.elapsed = run.Elapsed
		}
		s.Time = junitTime(s.elapsed)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	doc.Time = junitTime(run.Elapsed)

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "\t")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	return nil
}

func junitProperties(props map[string]string, run RunSummary) []junitProperty {
	all := maps.Clone(props)
	if all == nil {
		all = make(map[string]string)
	}
	if _, ok := all["outcome"]; !ok && run.Outcome != "" {
		all["outcome"] = string(run.Outcome)
	}
	var ps []junitProperty
	for _, k := range slices.Sorted(maps.Keys(all)) {
		ps = append(ps, junitProperty{Name: xmlSafe(k), Value: xmlSafe(all[k])})
	}
	return ps
}

func (s *junitSuite) add(c junitCase) {
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, c)
}

func testCase(res TestResult) junitCase {
	c := junitCase{
		Classname: xmlSafe(res.Package),
		Name:      xmlSafe(res.Name),
		Time:      junitTime(res.Elapsed),
		SystemOut: junitTextOf(res.Output),
		SystemErr: junitTextOf(res.KernelLog),
	}
	switch o := res.Outcome; {
	case o == Skip:
		c.Skipped = &junitProblem{Message: xmlSafe(skipReason(res))}
	case o.Failed():
		p := problem(o, res.Reports, res.Output)
		if o.isError() {
			c.Error = p
		} else {
			c.Failure = p
		}
	case o == "":
		c.Error = problem(Infra, []string{"no result: the test was still running"}, res.Output)
	}
	if c.Failure != nil || c.Error != nil {
		// CI viewers show the failure's text, seldom <system-out>:
		// the output is there already.
		c.SystemOut = nil
	}
	return c
}

// runCase returns the case that shows a failure of the run no test shows.
func runCase(run RunSummary, failingTests bool) (junitCase, bool) {
	switch {
	case len(run.Reports) > 0:
	case run.Outcome == Skip:
	case run.Outcome.Failed() && !failingTests:
	default:
		return junitCase{}, false
	}
	o := run.Outcome
	if o == "" || o == Pass {
		o = Fail // reports attached to a passing run
	}
	reasons := run.Reports
	if len(reasons) == 0 && run.Reason != "" {
		reasons = []string{run.Reason}
	}
	c := junitCase{
		Name:      RunCaseName,
		Time:      junitTime(run.Elapsed),
		SystemErr: junitTextOf(run.KernelLog),
	}
	p := problem(o, reasons, "")
	if o.isError() {
		c.Error = p
	} else {
		c.Failure = p
	}
	return c, true
}

func problem(o Outcome, reports []string, output string) *junitProblem {
	msg := "Failed"
	if len(reports) > 0 {
		msg = strings.Join(reports, "; ")
	}
	text := output
	if len(reports) > 0 {
		text = strings.Join(reports, "\n") + "\n"
		if output != "" {
			text += "\n" + output
		}
	}
	return &junitProblem{Message: xmlSafe(msg), Type: string(o), Text: xmlSafe(text)}
}

// skipReason is the last line a skipped test logged, usually its t.Skip message.
func skipReason(res TestResult) string {
	lines := strings.Split(strings.TrimRight(res.Output, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return ""
}

func junitTextOf(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: xmlSafe(s)}
}

func junitTime(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}

// xmlSafe replaces what XML 1.0 cannot carry (most control characters,
// invalid UTF-8, surrogates, U+FFFE and U+FFFF) by U+FFFD.
func xmlSafe(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !xmlChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func xmlChar(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true // written as is; invalid bytes decode to it too
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

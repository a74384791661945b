// SPDX-License-Identifier: MIT

package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The text report reproduces what go test prints, from events made by a
// test binary run with -test.v=test2json. That binary prints every result
// as soon as it is known, while a binary run by go test -v holds a
// subtest's result back until its parent's, indented, and says "=== NAME"
// when another test's output starts. The functions here redo both, so the
// text matches go test -v; quiet mode keeps only failing tests' reports,
// nested as go test without -v nests them.

// testLine handles one complete line of a test's output.
func (r *Recorder) testLine(t *test, line string) {
	if r.opts.JSON {
		if verb := resultVerb(line, t.name); verb != "" {
			t.result, t.resultVerb = strings.TrimLeft(line, " "), verb
		}
		return
	}
	trimmed := strings.TrimLeft(line, " ")
	switch {
	case strings.HasPrefix(trimmed, "=== NAME"):
		// Only in streams of a plain -test.v binary; made up below.
		return
	case isFraming(trimmed):
		if r.opts.Verbose {
			r.write(trimmed)
			r.lastName = t.name
		}
		return
	}
	if verb := resultVerb(line, t.name); verb != "" {
		t.result, t.resultVerb = trimmed, verb
		return
	}
	if r.opts.Verbose {
		if r.lastName != t.name {
			r.write("=== NAME  " + t.name + "\n")
			r.lastName = t.name
		}
		r.write(line)
		return
	}
	// Without -v, the testing package keeps t.Log lines (indented) for
	// the failure report, while what a test writes to stdout directly
	// goes out at once. Output after the result, a panic's for one,
	// also goes out at once.
	if t.done() || !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
		r.write(line)
		return
	}
	t.quietReport = append(t.quietReport, indent(t.depth-1)+line)
}

func isFraming(line string) bool {
	return strings.HasPrefix(line, "=== RUN ") || strings.HasPrefix(line, "=== PAUSE ") || strings.HasPrefix(line, "=== CONT ")
}

func indent(levels int) string {
	if levels <= 0 {
		return ""
	}
	return strings.Repeat("    ", levels)
}

// testDone prints, or hands to the parent, the report of a finished test.
func (r *Recorder) testDone(t *test) {
	if r.opts.JSON {
		return
	}
	toParent := t.parent != nil && !t.parent.done()
	if r.opts.Verbose {
		lines := append([]string{t.result}, t.subResults...)
		if toParent {
			for _, l := range lines {
				t.parent.subResults = append(t.parent.subResults, "    "+l)
			}
			return
		}
		for _, l := range lines {
			r.write(l)
		}
		r.lastName = t.name
		return
	}
	if !t.outcome().Failed() {
		return
	}
	lines := append([]string{indent(t.depth-1) + t.result}, t.quietReport...)
	if toParent {
		t.parent.quietReport = append(t.parent.quietReport, lines...)
		return
	}
	for _, l := range lines {
		r.write(l)
	}
}

// pkgLine prints one line of output that belongs to no test.
func (r *Recorder) pkgLine(line string) {
	if r.opts.JSON {
		return
	}
	if !r.opts.Verbose && (line == "PASS\n" || line == "testing: warning: no tests to run\n") {
		return // go test drops these without -v
	}
	r.write(line)
}

// verdictText is how a verdict the harness attached is printed: the
// harness's own line, then the kernel log that caused it, indented.
func verdictText(a Attachment) string {
	var b strings.Builder
	b.WriteString("cnvmtest: ")
	if a.Test != "" {
		b.WriteString(a.Test + ": ")
	}
	b.WriteString(string(a.Outcome))
	if a.Reason != "" {
		b.WriteString(": " + a.Reason)
	}
	b.WriteByte('\n')
	for _, line := range strings.SplitAfter(a.KernelLog, "\n") {
		if line != "" {
			b.WriteString("    " + strings.TrimRight(line, "\n") + "\n")
		}
	}
	return b.String()
}

// notice prints text of the harness' own, not the guest's.
func (r *Recorder) notice(pkgName, test, text string) {
	if r.opts.JSON {
		r.writeJSON(Event{Time: r.now(), Action: actionOutput, Package: pkgName, Test: test, Output: text})
		return
	}
	r.write(text)
	r.lastName = "" // the next test output names its test again
}

func (r *Recorder) writeJSON(e Event) {
	if !r.opts.JSON {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		// Event has no field that can fail to encode.
		panic(fmt.Sprintf("report: encoding event: %v", err))
	}
	r.write(string(b) + "\n")
}

func (r *Recorder) write(s string) {
	if r.err != nil || s == "" {
		return
	}
	if _, err := io.WriteString(r.out, s); err != nil {
		r.err = fmt.Errorf("writing test report: %w", err)
	}
}

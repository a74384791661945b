// SPDX-License-Identifier: MIT

package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%s differs (-want +got):\n%s", name, diff)
	}
}

// wellFormed fails the test unless doc parses as XML to the end.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%s", err, doc)
		}
	}
}

var props = map[string]string{"kernel": "debian:6.12.117", "accel": "tcg", "qemu": "QEMU emulator version 9.2.1"}

func TestJUnitGolden(t *testing.T) {
	r, _ := replay(t, "demo.jsonl", Options{})
	r.Attach(Attachment{Test: "TestPass", KernelLog: "[   12.600000] WARNING: CPU: 0 PID: 153 at drivers/connector/cn_queue.c:123 cn_queue_free_dev+0x50/0x60\n", Outcome: KernelSplat, Reason: "WARNING: at drivers/connector/cn_queue.c:123 cn_queue_free_dev+0x50/0x60"})
	r.Attach(Attachment{Test: "TestFail", KernelLog: "[   13.000000] cn_echo: odd byte \x01 in the log\n"})
	r.Attach(Attachment{KernelLog: "[    0.000000] Linux version 6.12.117\n"})
	r.Finish(Pass, "")

	var b bytes.Buffer
	if err := WriteJUnit(&b, "cnvmtest debian:6.12.117", props, r.Results(), r.Summary()); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.Bytes())
	golden(t, "demo.junit.xml", b.Bytes())
}

func TestJUnitCutStream(t *testing.T) {
	r, _ := replay(t, "cut.jsonl", Options{})
	finishAt(r, 2*time.Second)
	r.Attach(Attachment{KernelLog: "[   20.000000] Kernel panic - not syncing: Fatal exception\n"})
	r.Finish(KernelPanic, "kernel panic while running")

	var b bytes.Buffer
	if err := WriteJUnit(&b, "cnvmtest", nil, r.Results(), r.Summary()); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.Bytes())
	golden(t, "cut.junit.xml", b.Bytes())
}

func TestJUnitNothingRan(t *testing.T) {
	r := NewRecorder(Options{Package: "example.com/vmtests"})
	r.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	r.Attach(Attachment{KernelLog: "[    1.000000] Kernel panic - not syncing: VFS: Unable to mount root fs\n"})
	r.Finish(BootFail, "the guest runner never started")

	var b bytes.Buffer
	if err := WriteJUnit(&b, "cnvmtest", map[string]string{"kernel": "path:/tmp/bzImage"}, r.Results(), r.Summary()); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.Bytes())
	golden(t, "bootfail.junit.xml", b.Bytes())
}

func TestJUnitEscapesWhatXMLCannotCarry(t *testing.T) {
	results := []TestResult{{
		Name:      "TestOdd\x00",
		Package:   "p",
		Outcome:   Fail,
		Output:    "nul \x00 esc \x1b[31m bell \a bad utf8 \xff ]]> <tag> & \"q\"\n",
		KernelLog: "\x7f del is fine, \ufffe is not\n",
		Reports:   []string{"form feed \f here"},
	}}
	var b bytes.Buffer
	if err := WriteJUnit(&b, "s\x02", nil, results, RunSummary{Outcome: Fail}); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.Bytes())

	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Suites[0].Cases[0]
	if want := "form feed \ufffd here\n\nnul \ufffd esc \ufffd[31m bell \ufffd bad utf8 \ufffd ]]> <tag> & \"q\"\n"; c.Failure == nil || c.Failure.Text != want {
		t.Fatalf("failure %+v, want text %q", c.Failure, want)
	}
	if want := "\x7f del is fine, \ufffd is not\n"; c.SystemErr.Text != want {
		t.Fatalf("system-err %q, want %q", c.SystemErr.Text, want)
	}
	if c.Name != "TestOdd\ufffd" || c.Failure == nil || c.Failure.Message != "form feed \ufffd here" {
		t.Fatalf("unexpected case %+v", c)
	}
}

func TestJUnitCounts(t *testing.T) {
	r, _ := replay(t, "demo.jsonl", Options{})
	var b bytes.Buffer
	if err := WriteJUnit(&b, "x", nil, r.Results(), r.Summary()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	type counts struct{ Tests, Failures, Errors, Skipped int }
	got := counts{doc.Tests, doc.Failures, doc.Errors, doc.Skipped}
	if diff := cmp.Diff(counts{Tests: 15, Failures: 6, Skipped: 2}, got); diff != "" {
		t.Fatalf("unexpected counts (-want +got):\n%s", diff)
	}
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "TestSkip" && (c.Skipped == nil || c.Skipped.Message != "demo_test.go:19: needs /dev/kvm") {
			t.Fatalf("TestSkip: %+v, want the skip message", c.Skipped)
		}
		if strings.Contains(c.Name, RunCaseName) {
			t.Fatal("a run case for a run that tests explain")
		}
	}
}

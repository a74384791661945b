// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"github.com/google/go-cmp/cmp"
)

func TestTestArgs(t *testing.T) {
	tests := []struct {
		args []string
		name string
		want string // the -test.run added
	}{
		{[]string{"-test.v=test2json"}, "TestA", "-test.run=^TestA$"},
		{[]string{"-test.run", "Echo"}, "TestEcho", "-test.run=^TestEcho$"},
		{[]string{"-test.run=Echo/big"}, "TestEcho", "-test.run=^TestEcho$/big"},
		{[]string{"-run=Echo/[a/b]/c"}, "TestEcho", "-test.run=^TestEcho$/[a/b]/c"},
		{[]string{"-test.run=(A|B/x)/y"}, "TestB", "-test.run=^TestB$/y"},
	}
	for _, tt := range tests {
		got := testArgs(tt.args, tt.name)
		if !slices.Equal(got[:len(tt.args)], tt.args) || got[len(got)-1] != tt.want {
			t.Errorf("testArgs(%q, %s) = %q, want the args then %s", tt.args, tt.name, got, tt.want)
		}
	}
}

func TestIsVerdict(t *testing.T) {
	for line, want := range map[string]bool{
		"\x16PASS\n": true, "FAIL\n": true, "\x16FAIL\r\n": true,
		"\x16--- PASS: TestA (0.00s)\n": false, "PASS: x\n": false, "ok  \tpkg\n": false,
	} {
		if got := isVerdict([]byte(line)); got != want {
			t.Errorf("isVerdict(%q) = %v, want %v", line, got, want)
		}
	}
}

// fakeTests is a test binary in sh: -test.list prints its tests; a run
// of one test adds the test's name to the counter file, as the kernel's
// counters grow while a test runs, and TestB fails.
const fakeTests = `#!/bin/sh
case "$1" in
-test.list) printf 'TestA\nTestB\nBenchmarkC\n'; exit 0;;
esac
for a; do last=$a; done
name=${last#-test.run=^}; name=${name%$}
printf '\026=== RUN   %s\n' "$name"
printf '%s;' "$name" >> "$GCOV/a/b/x.gcda"
if [ "$name" = TestB ]; then printf '\026--- FAIL: %s (0.00s)\n\026FAIL\n' "$name"; exit 1; fi
printf '\026--- PASS: %s (0.00s)\n\026PASS\n' "$name"
`

func TestRunPerTest(t *testing.T) {
	kmsg = func(string) {}
	t.Cleanup(func() { kmsg = writeKmsg })
	dir := t.TempDir()
	programDir = dir
	t.Cleanup(func() { programDir = "/" + guest.Dir })
	gcov := filepath.Join(dir, "gcov")
	os.MkdirAll(filepath.Join(gcov, "a/b"), 0o755)
	os.WriteFile(filepath.Join(gcov, "a/b/x.gcda"), []byte("boot;"), 0o644)
	prog := filepath.Join(dir, "tests.test")
	os.WriteFile(prog, []byte(fakeTests), 0o755)
	// The kernel's reset zeroes the counters; here a write to reset
	// replaces the file's content with "reset".
	reset := filepath.Join(gcov, "reset")
	os.Symlink(filepath.Join(gcov, "a/b/x.gcda"), reset)

	var buf bytes.Buffer
	cfg := guest.Config{Program: prog, Args: []string{"-test.v=test2json"}, Env: []string{"GCOV=" + gcov}, Gcov: guest.GcovPerTest}
	status, _, err := runPerTest(&port{w: &buf}, cfg, gcovFS{gcov})
	if err != nil {
		t.Fatal(err)
	}
	if status != 1 {
		t.Errorf("status %d, want 1 (TestB failed)", status)
	}
	var sent []string
	var text strings.Builder
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		r, ok := guest.Decode([]byte(line))
		switch {
		case !ok:
			text.WriteString(line)
		case r.Event == guest.EvGcov:
			sent = append(sent, r.Test+" "+r.Name+" "+string(r.Data))
		case r.Event == guest.EvError:
			t.Errorf("error record: %s", r.Error)
		}
	}
	want := []string{"(setup) a/b/x.gcda boot;", "TestA a/b/x.gcda resetTestA;", "TestB a/b/x.gcda resetTestB;"}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("gcov records (-want +got):\n%s", diff)
	}
	wantText := "\x16=== RUN   TestA\n\x16--- PASS: TestA (0.00s)\n\x16=== RUN   TestB\n\x16--- FAIL: TestB (0.00s)\n\x16FAIL\n"
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(gcov, "a/b/x.gcda")); string(b) != "reset" {
		t.Errorf("counters after the last test: %q, want them reset for the unload", b)
	}
}

func TestSendGcovNone(t *testing.T) {
	var buf bytes.Buffer
	sendGcov(&port{w: &buf}, gcovFS{filepath.Join(t.TempDir(), "missing")}, guest.GcovAll)
	r, ok := guest.Decode(buf.Bytes())
	if !ok || r.Event != guest.EvError || !strings.Contains(r.Error, "CONFIG_GCOV_KERNEL") {
		t.Errorf("got %q, want an error naming CONFIG_GCOV_KERNEL", buf.String())
	}
}

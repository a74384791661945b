// SPDX-License-Identifier: MIT

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGotestsumSeesNoErrors runs a passing suite through gotestsum, as CI
// users turn go test -json into JUnit and summaries, and checks what they
// read: gotestsum counts every line on standard error as an error, so a
// passing run must print none there. It boots a guest, so it runs with
// the self-tests (CNVMTEST_SELFTEST=1, make selftest).
func TestGotestsumSeesNoErrors(t *testing.T) {
	if os.Getenv("CNVMTEST_SELFTEST") == "" {
		t.Skip("boots a guest: set CNVMTEST_SELFTEST=1 (make selftest)")
	}
	repo, err := findRepo("")
	if err != nil || repo == "" {
		t.Fatalf("no cnvmtest tree around the test: %v", err)
	}
	dir := t.TempDir()
	cli := filepath.Join(dir, "cnvmtest")
	build := exec.Command("go", "build", "-o", cli, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the CLI: %v\n%s", err, out)
	}
	junit := filepath.Join(dir, "junit.xml")
	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(repo, "tools", "go.mod"), "gotestsum",
		"--junitfile", junit, "--format", "testname", "--raw-command", "--",
		cli, "run", "-json", "-out", filepath.Join(dir, "out"), "-run", "^TestEchoHappyPath$")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gotestsum: %v\n%s", err, out)
	}
	done := regexp.MustCompile(`(?m)^DONE (\d+) tests?(.*)$`).FindStringSubmatch(string(out))
	if done == nil || done[1] == "0" {
		t.Fatalf("gotestsum printed no DONE line with tests:\n%s", out)
	}
	if strings.Contains(done[2], "error") {
		t.Errorf("gotestsum: %s: cnvmtest wrote to standard error in a passing run:\n%s", done[0], out)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), `errors="0"`) || !strings.Contains(string(x), "TestEchoHappyPath") {
		t.Errorf("gotestsum's JUnit has errors or lacks the test:\n%s", x)
	}
}

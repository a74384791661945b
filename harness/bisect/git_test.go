// SPDX-License-Identifier: MIT

package bisect

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/google/go-cmp/cmp"
)

// gitRepo makes a repository in a temporary directory with one commit per
// content of the file f, and returns it with the commits' hashes.
func gitRepo(t *testing.T, contents ...string) (dir string, commits []string, git func(args ...string) string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir = t.TempDir()
	git = func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	for _, c := range contents {
		os.WriteFile(filepath.Join(dir, "f"), []byte(c), 0o644)
		git("add", "f")
		git("commit", "-q", "-m", "f is "+c)
		commits = append(commits, git("rev-parse", "HEAD"))
	}
	return dir, commits, git
}

func TestGitBisectCheck(t *testing.T) {
	ctx := context.Background()
	dir, _, git := gitRepo(t, "1", "2", "3")
	g := &Git{Dir: dir, Good: "HEAD~2", Bad: "HEAD"}
	if _, _, err := g.check(ctx); err != nil {
		t.Fatalf("check of a clean repository: %v", err)
	}
	for _, tt := range []struct {
		name  string
		setup func()
		g     Git
		want  string
	}{
		{"unknown revision", func() {}, Git{Dir: dir, Good: "nosuchrev", Bad: "HEAD"}, "-good nosuchrev"},
		{"not a repository", func() {}, Git{Dir: t.TempDir(), Good: "a", Bad: "b"}, "not in a git repository"},
		{"uncommitted changes", func() { os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644) }, *g, "uncommitted changes"},
		{"bisection going on", func() { git("checkout", "-q", "f"); git("bisect", "start", "HEAD", "HEAD~2") }, *g, "already going on"},
	} {
		tt.setup()
		if _, _, err := tt.g.check(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: check() = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// Git.Run drives git bisect run with the step command and its arguments,
// finds the commit, and resets the repository.
func TestGitRun(t *testing.T) {
	dir, commits, git := gitRepo(t, "1", "2", "3", "4", "5", "6", "7")
	// The step: the commit is bad from f = 5 on; f = 3 cannot be tested.
	// It checks the arguments it gets, as a step process would parse them.
	script := `[ "$1 $2 $3 $4" = "-repeat 2 -flaky skip" ] && [ "$5" = -record ] && [ "$7" = -- ] && [ "$8 $9" = "-run x y" ] || exit 200
f=$(cat f); [ "$f" = 3 ] && exit 125; [ "$f" -lt 5 ]`
	var stdout, stderr bytes.Buffer
	logFile := filepath.Join(t.TempDir(), "log")
	g := &Git{Dir: dir, What: "test", Good: commits[0], Bad: commits[6],
		Command: []string{"/bin/sh", "-c", script, "step"},
		Args:    StepArgs{Repeat: 2, Policy: FlakySkip, Run: []string{"-run", "x y"}},
		LogFile: logFile, Stdout: &stdout, Stderr: &stderr}
	found, err := g.Run(context.Background())
	if err != nil || !found {
		t.Fatalf("Run() = %v, %v, want found; stdout:\n%s\nstderr:\n%s", found, err, stdout.String(), stderr.String())
	}
	if want := "first bad commit: " + commits[4] + " f is 5"; !strings.Contains(stdout.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, stdout.String())
	}
	if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "git bisect replay") {
		t.Errorf("the log file has no git bisect log:\n%s", log)
	}
	if head := git("rev-parse", "HEAD"); head != commits[6] {
		t.Errorf("HEAD is %s after the bisection, want %s: no git bisect reset", head, commits[6])
	}
}

// RunStep runs the suite on the commit checked out, from the directory
// the bisection started in, with the run flags given, and records its
// verdict.
func TestRunStep(t *testing.T) {
	dir, commits, _ := gitRepo(t, "1")
	t.Chdir(dir)
	userDir := t.TempDir()
	record := filepath.Join(t.TempDir(), "steps.jsonl")
	a := StepArgs{Repeat: 3, Policy: FlakyBad, Record: record, Dir: userDir, Run: []string{"-env", "A=1", "-env", "A=2", "-v=true"}}
	n := 0
	run := func(_ context.Context, args []string) (report.Outcome, string, error) {
		n++
		if wd, _ := os.Getwd(); wd != userDir {
			t.Errorf("run %d in %s, want %s", n, wd, userDir)
		}
		if diff := cmp.Diff(a.Run, args); diff != "" {
			t.Errorf("run %d's flags (-want +got):\n%s", n, diff)
		}
		if n == 2 {
			return report.Fail, "1 test(s) failed", nil
		}
		return report.Pass, "", nil
	}
	var out bytes.Buffer
	v, err := RunStep(context.Background(), a, run, &out)
	if err != nil || v != Bad || n != 3 {
		t.Fatalf("RunStep = %s, %v after %d runs, want bad (flaky) after 3; output:\n%s", v, err, n, out.String())
	}
	steps, err := readRecords(record)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := steps[commits[0]]; !ok || !st.Flaky || len(st.Attempts) != 3 {
		t.Errorf("recorded %+v, want a flaky step of 3 attempts for %s", steps, commits[0])
	}
	if !strings.Contains(out.String(), shortHash(commits[0])+": flaky 1/3, counted bad") {
		t.Errorf("output does not name the commit and verdict:\n%s", out.String())
	}
}

// A run that cannot be set up stops the step with an error.
func TestRunStepSetupError(t *testing.T) {
	dir, _, _ := gitRepo(t, "1")
	t.Chdir(dir)
	runs := 0
	run := func(context.Context, []string) (report.Outcome, string, error) {
		runs++
		return "", "", os.ErrNotExist
	}
	if _, err := RunStep(context.Background(), StepArgs{Repeat: 3}, run, nil); err == nil || runs != 1 {
		t.Errorf("RunStep = %v after %d runs, want an error after 1", err, runs)
	}
}

func TestStepArgs(t *testing.T) {
	a := StepArgs{Repeat: 4, Policy: FlakySkip, Record: "/tmp/r", Dir: "/home/u", Run: []string{"-repeat", "9", "--", "-v=true"}}
	got, err := ParseStepArgs(a.Args(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("step args after %q (-want +got):\n%s", a.Args(), diff)
	}
	for _, bad := range [][]string{{"-flaky", "good"}, {"-repeat", "x"}, {"-accel", "tcg"}} {
		if _, err := ParseStepArgs(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("ParseStepArgs(%q) succeeded", bad)
		}
	}
}

func TestRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.jsonl")
	steps := map[string]Step{
		"aaaa": Judge([]Attempt{{Outcome: report.Pass, Elapsed: time.Second}}, FlakyBad),
		"bbbb": Judge([]Attempt{{Outcome: report.Fail, Reason: "1 test(s) failed"}, {Outcome: report.Pass}}, FlakySkip),
		"cccc": {Verdict: Skip, Untestable: "kernel debian:6.1.170-1: no kbuild"},
	}
	for v, s := range steps {
		if err := appendRecord(path, Entry{Version: v, Step: s}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(steps, got); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
}

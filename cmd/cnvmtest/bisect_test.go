package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/bisect"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestBisectBadInvocations(t *testing.T) {
	repo, err := findRepo("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", []string{"-good", "a", "-bad", "b"}, "give one of"},
		{"two modes", []string{"-debian", "6.12", "-module-repo", "."}, "give one of"},
		{"kernel with debian", []string{"-debian", "6.12", "-kernel", "debian:6.1"}, "-kernel does not go with it"},
		{"kmod with module history", []string{"-module-repo", ".", "-kmod", "kmod", "-good", "a", "-bad", "b"}, "-kmod does not go with it"},
		{"kernel with kernel tree", []string{"-kernel-tree", ".", "-kernel", "debian:6.1", "-good", "a", "-bad", "b"}, "-kernel does not go with it"},
		{"no endpoints", []string{"-module-repo", "."}, "needs -good REV and -bad REV"},
		{"repeat zero", []string{"-debian", "6.12", "-repeat", "0"}, "want at least 1"},
		{"unknown flaky policy", []string{"-debian", "6.12", "-flaky", "good"}, "unknown flaky policy"},
		{"unknown flavour", []string{"-kernel-tree", ".", "-flavour", "huge", "-good", "a", "-bad", "b"}, `-flavour "huge"`},
		{"matrix", []string{"-module-repo", ".", "-kernel", "debian:6.1,debian:6.12", "-good", "a", "-bad", "b"}, "one kernel at a time"},
		{"stray argument", []string{"-debian", "6.12", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := bisectCmd(context.Background(), append(tt.args, "-repo", repo), &stdout, &stderr)
			if code != 2 {
				t.Fatalf("bisect %q exited %d, want 2 (usage); stderr:\n%s", tt.args, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("bisect %q printed %q, want it to contain %q", tt.args, stderr.String(), tt.want)
			}
		})
	}
}

// A step that cannot run must abort git bisect run, never mark the commit.
func TestBisectStepAbortsOnItsOwnFailure(t *testing.T) {
	for _, args := range [][]string{
		{"-nosuchflag"},
		{"-flaky", "sometimes"},
		{"-accel", "hvf", "-repo", "."},
	} {
		code := bisectStepCmd(context.Background(), args, io.Discard, io.Discard)
		if code != bisect.ExitAbort {
			t.Errorf("bisect-step %q exited %d, want %d (abort)", args, code, bisect.ExitAbort)
		}
	}
}

// What bisect passes to bisect-step must parse back to the same options.
func TestStepArgsRoundTrip(t *testing.T) {
	repo, err := findRepo("")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	want := harness.Options{
		Repo: repo, Kernel: "debian:6.12", KmodDir: filepath.Join(tmp, "kmod"), ModuleParams: "idx=18 val=5",
		TestsDir: tmp, TestsPkg: ".", Run: "^TestEcho", Count: 3, Timeout: 7 * time.Minute,
		TestTimeout: time.Minute, Accel: "tcg", Init: harness.InitURoot, Verbose: true, OutDir: filepath.Join(tmp, "out"),
		CPUs: 1, MemoryMB: 512, Env: []string{"A=1", "B=2=3"}, Files: []string{"/etc/hostname", filepath.Join(tmp, "f")},
	}
	args := stepArgs(want)
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	got, err := rf.options(nil, nil)
	if err != nil {
		t.Fatalf("options from %q: %v", args, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(harness.Options{})); diff != "" {
		t.Errorf("options after the round trip through %q (-want +got):\n%s", args, diff)
	}
}

func TestRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.jsonl")
	steps := map[string]bisect.Step{
		"aaaa": bisect.Judge([]bisect.Attempt{{Outcome: report.Pass, Elapsed: time.Second}}, bisect.FlakyBad),
		"bbbb": bisect.Judge([]bisect.Attempt{{Outcome: report.Fail, Reason: "1 test(s) failed"}, {Outcome: report.Pass}}, bisect.FlakySkip),
	}
	for v, s := range steps {
		if err := appendRecord(path, bisect.Entry{Version: v, Step: s}); err != nil {
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

func TestGitBisectCheck(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	for _, c := range []string{"1", "2", "3"} {
		os.WriteFile(filepath.Join(dir, "f"), []byte(c), 0o644)
		git("add", "f")
		git("commit", "-q", "-m", c)
	}
	g := &gitBisect{dir: dir, good: "HEAD~2", bad: "HEAD"}
	if _, _, err := g.check(ctx); err != nil {
		t.Fatalf("check of a clean repository: %v", err)
	}
	for _, tt := range []struct {
		name  string
		setup func()
		g     gitBisect
		want  string
	}{
		{"unknown revision", func() {}, gitBisect{dir: dir, good: "nosuchrev", bad: "HEAD"}, "-good nosuchrev"},
		{"not a repository", func() {}, gitBisect{dir: t.TempDir(), good: "a", bad: "b"}, "not in a git repository"},
		{"uncommitted changes", func() { os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644) }, *g, "uncommitted changes"},
		{"bisection going on", func() { git("checkout", "-q", "f"); git("bisect", "start", "HEAD", "HEAD~2") }, *g, "already going on"},
	} {
		tt.setup()
		if _, _, err := tt.g.check(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: check() = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

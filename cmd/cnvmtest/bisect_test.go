// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/bisect"
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
		{"-accel", "tcg"}, // a run flag before the --
		{"--", "-accel", "hvf", "-repo", "."},
		{"--", "-nosuchflag"},
	} {
		code := bisectStepCmd(context.Background(), args, io.Discard, io.Discard)
		if code != bisect.ExitAbort {
			t.Errorf("bisect-step %q exited %d, want %d (abort)", args, code, bisect.ExitAbort)
		}
	}
}

// The run flags given to bisect reach each step as given, after the
// step's own flags, and parse there to the options bisect checked.
func TestBisectRunFlagsReachStep(t *testing.T) {
	repo, err := findRepo("")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	os.Mkdir(filepath.Join(mod, "tests"), 0o755)
	runArgs := []string{"-params", "idx=18 val=-5", "-env", "A=1", "-accel", "tcg", "-env", "B=2=3",
		"-v", "-count", "3", "-tests", "tests", "-repo", repo, "-file", "/etc/hostname"}
	args := append([]string{"-module-repo", mod, "-good", "a", "-bad", "b", "-repeat", "2", "-flaky", "skip"}, runArgs...)
	var stderr bytes.Buffer
	b, code := parseBisect(args, io.Discard, &stderr)
	g, ok := b.(*bisect.Git)
	if !ok {
		t.Fatalf("parseBisect(%q) = %T, exit %d, want a *bisect.Git; stderr:\n%s", args, b, code, stderr.String())
	}
	want := []string{"-accel", "tcg", "-count", "3", "-env", "A=1", "-env", "B=2=3", "-file", "/etc/hostname",
		"-params", "idx=18 val=-5", "-repo", repo, "-tests", "tests", "-v=true",
		"-kmod", filepath.Join(mod, "kmod"), "-tests", filepath.Join(mod, "tests")}
	if diff := cmp.Diff(want, g.Args.Run); diff != "" {
		t.Errorf("run flags of the step (-want +got):\n%s", diff)
	}
	wd, _ := os.Getwd()
	if g.Args.Dir != wd || g.Args.Repeat != 2 || g.Args.Policy != bisect.FlakySkip {
		t.Errorf("step args %+v: want -dir %s, -repeat 2, -flaky skip", g.Args, wd)
	}
	if len(g.Command) != 2 || g.Command[1] != "bisect-step" {
		t.Errorf("step command %q, want this binary and bisect-step", g.Command)
	}
	back, err := bisect.ParseStepArgs(g.Args.Args(), io.Discard)
	if err != nil {
		t.Fatalf("bisect-step %q: %v", g.Args.Args(), err)
	}
	if diff := cmp.Diff(g.Args, back); diff != "" {
		t.Errorf("step args after the round trip through %q (-want +got):\n%s", g.Args.Args(), diff)
	}

	// The step's run parses them to what the user's flags give, with the
	// module and tests of the commit checked out.
	got, err := parseRunFlags(back.Run, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	if err := fs.Parse(runArgs); err != nil {
		t.Fatal(err)
	}
	user, err := rf.options(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	user.KmodDir, user.TestsDir, user.TestsPkg = filepath.Join(mod, "kmod"), filepath.Join(mod, "tests"), "."
	if diff := cmp.Diff(user, got, cmpopts.IgnoreUnexported(harness.Options{})); diff != "" {
		t.Errorf("options of the step (-want +got):\n%s", diff)
	}
}

// The Debian mode runs each version with the user's run flags and the
// version's kernel.
func TestBisectDebianStepArgs(t *testing.T) {
	repo, err := findRepo("")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-debian", "6.12", "-good", "6.12.95-1", "-env", "A=1", "-env", "A=2", "-repo", repo}
	b, code := parseBisect(args, io.Discard, io.Discard)
	d, ok := b.(*bisect.Debian)
	if !ok {
		t.Fatalf("parseBisect(%q) = %T, exit %d, want a *bisect.Debian", args, b, code)
	}
	if want := []string{"-env", "A=1", "-env", "A=2", "-repo", repo}; !slices.Equal(d.Step.Args, want) {
		t.Errorf("run flags %q, want %q", d.Step.Args, want)
	}
	if d.Series != "6.12" || d.Good != "6.12.95-1" || d.Bad != "" {
		t.Errorf("bisection %+v, want series 6.12 from 6.12.95-1", d)
	}
}

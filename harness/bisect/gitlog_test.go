// SPDX-License-Identifier: MIT

package bisect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A log written by git 2.39 for a bisection that found its answer.
const foundLog = `# bad: [d848a0c0623d85f54cf739e26ee58a8f77f90bdc] c8
# good: [f623cc623e86eff785deaffaf5c06085c8d77191] c1
git bisect start 'HEAD' 'HEAD~7'
# bad: [4e76d1cb6fa15d447508daabeac269af2971e70d] c4
git bisect bad 4e76d1cb6fa15d447508daabeac269af2971e70d
# good: [f1083639d2f78081c64afaeb5acca9e72ed392ef] c3
git bisect good f1083639d2f78081c64afaeb5acca9e72ed392ef
# first bad commit: [4e76d1cb6fa15d447508daabeac269af2971e70d] c4
`

// The same with c3 untestable: git gives up and names the suspects. The
// last line has no newline, as git prints it.
const skippedLog = `# bad: [d848a0c0623d85f54cf739e26ee58a8f77f90bdc] c8
# good: [f623cc623e86eff785deaffaf5c06085c8d77191] c1
git bisect start 'HEAD' 'HEAD~7'
# bad: [4e76d1cb6fa15d447508daabeac269af2971e70d] c4
git bisect bad 4e76d1cb6fa15d447508daabeac269af2971e70d
# skip: [f1083639d2f78081c64afaeb5acca9e72ed392ef] c3
git bisect skip f1083639d2f78081c64afaeb5acca9e72ed392ef
# good: [26c306f1212ae9d717bccd90c58ac79977d593b7] c2
git bisect good 26c306f1212ae9d717bccd90c58ac79977d593b7
# only skipped commits left to test
# possible first bad commit: [4e76d1cb6fa15d447508daabeac269af2971e70d] c4
# possible first bad commit: [f1083639d2f78081c64afaeb5acca9e72ed392ef] c3`

func TestParseGitLog(t *testing.T) {
	const (
		c8 = "d848a0c0623d85f54cf739e26ee58a8f77f90bdc"
		c1 = "f623cc623e86eff785deaffaf5c06085c8d77191"
		c4 = "4e76d1cb6fa15d447508daabeac269af2971e70d"
		c3 = "f1083639d2f78081c64afaeb5acca9e72ed392ef"
		c2 = "26c306f1212ae9d717bccd90c58ac79977d593b7"
	)
	start := []GitStep{
		{Verdict: Bad, Commit: c8, Subject: "c8", Start: true},
		{Verdict: Good, Commit: c1, Subject: "c1", Start: true},
	}
	tests := []struct {
		name string
		log  string
		want *GitLog
	}{
		{"found", foundLog, &GitLog{
			Steps:    append(start, GitStep{Bad, c4, "c4", false}, GitStep{Good, c3, "c3", false}),
			FirstBad: &GitStep{Bad, c4, "c4", false},
		}},
		{"only skipped left", skippedLog, &GitLog{
			Steps:    append(start, GitStep{Bad, c4, "c4", false}, GitStep{Skip, c3, "c3", false}, GitStep{Good, c2, "c2", false}),
			Suspects: []GitStep{{Bad, c4, "c4", false}, {Bad, c3, "c3", false}},
		}},
		{"old and new terms", "git bisect start '--term-new=new'\n# new: [abcdef0] x\n# old: [1234567] y: z\n# first new commit: [abcdef0] x\n", &GitLog{
			Steps:    []GitStep{{Bad, "abcdef0", "x", false}, {Good, "1234567", "y: z", false}},
			FirstBad: &GitStep{Bad, "abcdef0", "x", false},
		}},
		{"empty", "", &GitLog{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGitLog(strings.NewReader(tt.log))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unexpected log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseGitLogFromGit bisects a scripted history with the git on this
// machine, so that a change in git's log format shows here.
func TestParseGitLogFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil && args[0] != "bisect" {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	commits := map[string]string{}
	for i := 1; i <= 9; i++ {
		os.WriteFile(filepath.Join(dir, "n"), []byte(strconv.Itoa(i)), 0o644)
		git("add", "n")
		git("commit", "-q", "-m", "commit "+strconv.Itoa(i))
		commits[git("rev-parse", "HEAD")] = strconv.Itoa(i)
	}
	// Bad from 6 on; 5 cannot be tested. Expect 5 and 6 as suspects.
	script := filepath.Join(t.TempDir(), "step")
	os.WriteFile(script, []byte("#!/bin/sh\nn=$(cat n)\n[ $n = 5 ] && exit 125\n[ $n -ge 6 ] && exit 1\nexit 0\n"), 0o755)
	git("bisect", "start", "HEAD", "HEAD~8")
	git("bisect", "run", script)
	out := git("bisect", "log")
	git("bisect", "reset")
	log, err := ParseGitLog(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var suspects []string
	for _, s := range log.Suspects {
		suspects = append(suspects, commits[s.Commit])
	}
	if diff := cmp.Diff([]string{"5", "6"}, slices.Sorted(slices.Values(suspects))); diff != "" || log.FirstBad != nil {
		t.Errorf("suspects (-want +got):\n%s\nfirst bad %+v; log:\n%s", diff, log.FirstBad, out)
	}
	for _, s := range log.Steps {
		if n := commits[s.Commit]; !s.Start && (n == "5") != (s.Verdict == Skip) {
			t.Errorf("commit %s judged %s", n, s.Verdict)
		}
	}
}

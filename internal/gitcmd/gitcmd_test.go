// SPDX-License-Identifier: MIT

package gitcmd

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Output(ctx, dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	got, err := Line(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil || got != "true" {
		t.Fatalf("Line(rev-parse --is-inside-work-tree) = %q, %v; want \"true\"", got, err)
	}
	out, err := Output(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil || string(out) != "true\n" {
		t.Fatalf("Output kept %q, %v; want the output untrimmed", out, err)
	}
	// No commit yet: HEAD does not verify, and the error says what git said.
	_, err = Output(ctx, dir, "rev-parse", "--verify", "HEAD")
	if err == nil || !strings.Contains(err.Error(), "git rev-parse --verify HEAD: exit status") ||
		!strings.Contains(err.Error(), "fatal:") {
		t.Fatalf("error = %v; want one naming the command with git's message", err)
	}
}

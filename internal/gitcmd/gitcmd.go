// SPDX-License-Identifier: MIT

// Package gitcmd runs git and reports its failures with what git said.
package gitcmd

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Output runs "git -C dir ARGS…" and returns its standard output as is.
// On failure the error names the command and carries the last lines of
// git's standard error.
func Output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 5 {
			msg = strings.Join(lines[len(lines)-5:], "\n")
		}
		if msg != "" {
			msg = ": " + msg
		}
		return nil, fmt.Errorf("git %s: %w%s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// Line runs git like Output and returns its output without surrounding
// white space: for commands that print one value (rev-parse, merge-base).
func Line(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := Output(ctx, dir, args...)
	return strings.TrimSpace(string(out)), err
}

// SPDX-License-Identifier: MIT

package bisect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/gitcmd"
)

// Git bisects the commits of a git repository with git bisect run: the
// commits of a kernel tree, or of a module's history.
type Git struct {
	// Dir is in the repository; it must have no uncommitted changes.
	Dir string
	// What names what is bisected, for the log's heading
	// ("module history of /src/mymod/kmod").
	What string
	// Good and Bad are the endpoints, any revisions git knows.
	Good, Bad string
	// Command is the step process, a program and its first arguments
	// (cnvmtest bisect-step); Run adds Args.Args() after them. The
	// program is copied first and the copy runs: checkouts may rebuild
	// or remove it (out/bin/cnvmtest in a cnvmtest tree bisected).
	Command []string
	// Args are the step's arguments; Run sets Record.
	Args StepArgs
	// LogFile, if set, also gets the log, with git bisect log's output
	// for git bisect replay.
	LogFile string
	// Stdout gets the log; Stderr progress, and git's output.
	Stdout, Stderr io.Writer
}

// Run bisects, prints the log and resets the bisection, even when ctx
// ends. It reports whether one first bad commit was found; an error means
// the bisection could not run or its log could not be read.
func (g *Git) Run(ctx context.Context) (found bool, err error) {
	if len(g.Command) == 0 {
		return false, errors.New("bisect: Git.Command is empty")
	}
	good, bad, err := g.check(ctx)
	if err != nil {
		return false, err
	}
	self, err := copyExecutable(g.Command[0])
	if err != nil {
		return false, fmt.Errorf("copying %s for the steps: %w", g.Command[0], err)
	}
	defer os.Remove(self)
	rec, err := os.CreateTemp("", "cnvmtest-bisect-*.jsonl")
	if err != nil {
		return false, err
	}
	rec.Close()
	defer os.Remove(rec.Name())

	if err := g.git(ctx, "bisect", "start", bad, good); err != nil {
		return false, err
	}
	defer func() {
		// Back to where the user was, even after ^C.
		if err := g.git(context.WithoutCancel(ctx), "bisect", "reset"); err != nil {
			fmt.Fprintf(g.Stderr, "cnvmtest bisect: %v; run git bisect reset in %s\n", err, g.Dir)
		}
	}()
	step := g.Args
	step.Record = rec.Name()
	args := append([]string{"bisect", "run", self}, g.Command[1:]...)
	args = append(args, step.Args()...)
	fmt.Fprintf(g.Stderr, "cnvmtest bisect: in %s: git %s\n", g.Dir, strings.Join(args, " "))
	runErr := g.git(ctx, args...)

	logText, err := gitcmd.Line(context.WithoutCancel(ctx), g.Dir, "bisect", "log")
	if err != nil {
		return false, err
	}
	log, err := ParseGitLog(strings.NewReader(logText))
	if err != nil {
		return false, fmt.Errorf("reading git bisect log: %w", err)
	}
	steps, err := readRecords(rec.Name())
	if err != nil {
		return false, err
	}
	var out bytes.Buffer
	found = g.writeLog(&out, log, steps, good, bad)
	if runErr != nil && !found {
		fmt.Fprintf(&out, "git bisect run did not finish: %v\n", runErr)
	}
	g.Stdout.Write(out.Bytes())
	if g.LogFile != "" {
		fmt.Fprintf(&out, "\ngit bisect log (for git bisect replay):\n%s\n", logText)
		if err := os.WriteFile(g.LogFile, out.Bytes(), 0o644); err != nil {
			return found, err
		}
	}
	return found, nil
}

// check makes sure git bisect can start in Dir without harm, and returns
// the endpoints as commit hashes.
func (g *Git) check(ctx context.Context) (good, bad string, err error) {
	if _, err := gitcmd.Line(ctx, g.Dir, "rev-parse", "--show-toplevel"); err != nil {
		return "", "", fmt.Errorf("%s is not in a git repository: %w", g.Dir, err)
	}
	dirty, err := gitcmd.Line(ctx, g.Dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", "", err
	}
	if dirty != "" {
		return "", "", fmt.Errorf("%s has uncommitted changes, which git bisect would carry into every commit tested: commit or stash them\n%s", g.Dir, dirty)
	}
	started, err := gitcmd.Line(ctx, g.Dir, "rev-parse", "--git-path", "BISECT_START")
	if err != nil {
		return "", "", err
	}
	if !filepath.IsAbs(started) {
		started = filepath.Join(g.Dir, started)
	}
	if _, err := os.Stat(started); err == nil {
		return "", "", fmt.Errorf("a bisection is already going on in %s: finish it, or end it with git bisect reset", g.Dir)
	}
	if good, err = gitcmd.Line(ctx, g.Dir, "rev-parse", "--verify", "--end-of-options", g.Good+"^{commit}"); err != nil {
		return "", "", fmt.Errorf("-good %s: %w", g.Good, err)
	}
	if bad, err = gitcmd.Line(ctx, g.Dir, "rev-parse", "--verify", "--end-of-options", g.Bad+"^{commit}"); err != nil {
		return "", "", fmt.Errorf("-bad %s: %w", g.Bad, err)
	}
	return good, bad, nil
}

// writeLog prints the commits tested with their steps' verdicts and the
// answer, and reports whether there is one.
func (g *Git) writeLog(w io.Writer, log *GitLog, steps map[string]Step, good, bad string) bool {
	var entries []Entry
	tested := map[string]bool{}
	for _, s := range log.Steps {
		if s.Start {
			continue
		}
		st, ok := steps[s.Commit]
		if !ok { // judged by hand, or the step did not finish
			st = Step{Verdict: s.Verdict}
		}
		tested[s.Commit] = true
		entries = append(entries, Entry{Version: shortHash(s.Commit), Title: s.Subject, Step: st})
	}
	fmt.Fprintf(w, "\nbisect log (%s; good %s, bad %s):\n", g.What, shortHash(good), shortHash(bad))
	WriteLog(w, entries)
	switch {
	case log.FirstBad != nil:
		fmt.Fprintf(w, "first bad commit: %s %s\n", log.FirstBad.Commit, log.FirstBad.Subject)
		if !tested[log.FirstBad.Commit] {
			fmt.Fprintf(w, "(not tested: it is the -bad commit, taken as bad)\n")
		}
		return true
	case len(log.Suspects) > 0:
		fmt.Fprintf(w, "the first bad commit is hidden by skipped commits (untestable, or flaky with -flaky skip); it is one of:\n")
		for _, s := range log.Suspects {
			fmt.Fprintf(w, "  %s %s\n", s.Commit, s.Subject)
		}
	default:
		fmt.Fprintf(w, "no first bad commit found\n")
	}
	return false
}

// git runs git in the bisected tree with its output passed on. On ^C git
// gets SIGTERM; its step, in the same terminal, sees the ^C itself.
func (g *Git) git(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.Dir
	cmd.Stdout, cmd.Stderr = g.Stdout, g.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w", args[0]+" "+args[1], err)
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// copyExecutable copies the program at path to a temporary file.
func copyExecutable(path string) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := os.CreateTemp("", "cnvmtest-bisect-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst.Name(), 0o755)
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", err
	}
	return dst.Name(), nil
}

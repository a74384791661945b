// SPDX-License-Identifier: MIT

package kcov

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// lcov runs the lcov tools of one version. lcov 1.x (Debian 12's 1.16)
// and 2.x (Ubuntu 24.04's 2.0) name the branch switch differently, and
// 2.x stops at inconsistencies 1.x only warned of, unless told to ignore
// their classes.
type lcov struct {
	major int
	text  string // "LCOV version 1.16"
}

// errNoLcov says how to get lcov.
var errNoLcov = errors.New("lcov is not installed: run make deps (or apt-get install lcov)")

var lcovVersionRE = regexp.MustCompile(`LCOV version (\d+)\.(\d+)`)

// findLcov finds lcov and genhtml and reads lcov's version.
func findLcov(ctx context.Context) (*lcov, error) {
	for _, tool := range []string{"lcov", "genhtml", "gcov"} {
		if _, err := exec.LookPath(tool); err != nil {
			if tool == "gcov" {
				return nil, fmt.Errorf("gcov is not installed: it comes with gcc (apt-get install gcc)")
			}
			return nil, errNoLcov
		}
	}
	out, err := exec.CommandContext(ctx, "lcov", "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("lcov --version: %w: %s", err, bytes.TrimSpace(out))
	}
	return parseLcovVersion(string(out))
}

func parseLcovVersion(out string) (*lcov, error) {
	m := lcovVersionRE.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("cannot read lcov's version from %q", strings.TrimSpace(out))
	}
	major, _ := strconv.Atoi(m[1])
	if major < 1 || major > 2 {
		return nil, fmt.Errorf("lcov %s.%s is not supported (1.x and 2.x are)", m[1], m[2])
	}
	return &lcov{major: major, text: m[0]}, nil
}

// common are the options every lcov and genhtml call takes: branch
// coverage on, and for 2.x the error classes that gcov's view of kernel
// code raises without anything being wrong. Headers of the kernel's
// include/ are not kept (source), their inline functions' line ranges
// differ between objects (mismatch, inconsistent), and --extract leaves
// patterns unused on a run without the module's counters (unused, empty).
func (l *lcov) common() []string {
	if l.major == 1 {
		return []string{"--rc", "lcov_branch_coverage=1"}
	}
	return []string{"--rc", "branch_coverage=1", "--ignore-errors",
		"source,source,mismatch,mismatch,inconsistent,inconsistent,unused,unused,empty,empty,gcov,gcov,negative,negative,format,format,range,range"}
}

// run runs one lcov tool; its error carries the tool's output.
func (l *lcov) run(ctx context.Context, dir, tool string, args ...string) error {
	cmd := exec.CommandContext(ctx, tool, append(args, l.common()...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, tail(string(out), 15))
	}
	return nil
}

// capture makes a tracefile of the counters in dir, whose notes name
// their sources relative to base, keeping only the files keep names, or
// the files under the directories it names: not the headers the profiled
// code inlines.
func (l *lcov) capture(ctx context.Context, dir, base string, keep []string, out string) error {
	raw := out + ".raw"
	if err := l.run(ctx, dir, "lcov", "--capture", "--quiet", "--directory", dir, "--base-directory", base, "--output-file", raw); err != nil {
		return err
	}
	args := []string{"--quiet", "--extract", raw}
	for _, k := range keep {
		if !strings.HasSuffix(k, ".c") && !strings.HasSuffix(k, ".h") {
			k += "/*"
		}
		args = append(args, k)
	}
	return l.run(ctx, dir, "lcov", append(args, "--output-file", out)...)
}

// merge adds tracefiles up into out.
func (l *lcov) merge(ctx context.Context, dir, out string, in ...string) error {
	if len(in) == 1 {
		return l.run(ctx, dir, "lcov", "--quiet", "--add-tracefile", in[0], "--output-file", out)
	}
	args := []string{"--quiet"}
	for _, f := range in {
		args = append(args, "--add-tracefile", f)
	}
	return l.run(ctx, dir, "lcov", append(args, "--output-file", out)...)
}

// html writes genhtml's report of info into dir, paths shown without
// prefix.
func (l *lcov) html(ctx context.Context, info, dir, prefix, title string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return l.run(ctx, dir, "genhtml", "--quiet", "--prefix", prefix, "--title", title,
		"--branch-coverage", "--function-coverage", "--output-directory", dir, info)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// gcovFS is the kernel's gcov directory (guest.GcovDir; a temporary
// directory in tests).
type gcovFS struct{ dir string }

// reset zeroes every counter: any write to the reset file does
// (kernel/gcov/fs.c, reset_write).
func (g gcovFS) reset() error {
	return os.WriteFile(filepath.Join(g.dir, "reset"), []byte("reset"), 0)
}

// sendGcov sends every .gcda file under the gcov directory, one EvGcov
// record each, labelled label. The directory also holds symbolic links to
// the .gcno files at their build paths, which the host has already.
func sendGcov(out *port, g gcovFS, label string) {
	fail := func(err error) {
		out.record(guest.Record{Event: guest.EvError, Error: "kernel coverage data: " + err.Error()})
	}
	if _, err := os.Stat(g.dir); err != nil {
		fail(fmt.Errorf("%w (is the kernel built with CONFIG_GCOV_KERNEL and debugfs mounted?)", err))
		return
	}
	n := 0
	err := filepath.WalkDir(g.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(p, ".gcda") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(g.dir, p)
		out.record(guest.Record{Event: guest.EvGcov, Name: rel, Data: b, Test: label})
		n++
		return nil
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("no .gcda file under %s", g.dir)
	}
	if err != nil {
		fail(err)
	}
}

// runPerTest runs the program once per top-level test, with the gcov
// counters reset before each and sent after it, so that each test's
// counts are its own: no test runs while the counters are read. The
// counters of the boot and the module's load go first (GcovSetup). The
// output is that of one run of the program: each run's final PASS or FAIL
// line is left out, and one for all of them ends it. Its status is the
// first failing run's.
func runPerTest(out *port, cfg guest.Config, g gcovFS) (int, time.Duration, error) {
	start := time.Now()
	names, err := listTests(cfg)
	if err != nil {
		return 0, 0, err
	}
	out.record(guest.Record{Event: guest.EvStart})
	sendGcov(out, g, guest.GcovSetup)
	status := 0
	for _, name := range names {
		if cfg.Deadline > 0 && uptime() > cfg.Deadline {
			break // watch has said so and stopped the last run
		}
		if err := g.reset(); err != nil {
			return 0, 0, fmt.Errorf("resetting the gcov counters: %w", err)
		}
		st, _, err := runProgram(out, cfg, testArgs(cfg.Args, name), isVerdict)
		if err != nil {
			return 0, 0, err
		}
		if status == 0 {
			status = st
		}
		sendGcov(out, g, name)
	}
	// What the unload adds is sent on its own.
	if err := g.reset(); err != nil {
		return 0, 0, fmt.Errorf("resetting the gcov counters: %w", err)
	}
	verdict := "PASS"
	if status != 0 {
		verdict = "FAIL"
	}
	out.write([]byte("\x16" + verdict + "\n"))
	return status, time.Since(start), nil
}

// isVerdict matches the line a test binary ends with (testing's M.Run):
// "PASS" or "FAIL", framed with ^V under -test.v=test2json.
func isVerdict(line []byte) bool {
	s := string(bytes.TrimPrefix(bytes.TrimRight(line, "\r\n"), []byte{0x16}))
	return s == "PASS" || s == "FAIL"
}

// runFlag finds the value of the last -test.run (or -run) flag in args.
func runFlag(args []string) (value string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		name, v, hasValue := strings.Cut(a, "=")
		if name != "test.run" && name != "run" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			v = args[i]
		}
		value, ok = v, true
	}
	return value, ok
}

// splitRun splits a -test.run pattern at its first slash outside brackets
// and parentheses, into the top-level part and the rest (testing's
// splitRegexp does the same).
func splitRun(pattern string) (top, rest string) {
	depth := 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '\\':
			i++
		case '/':
			if depth == 0 {
				return pattern[:i], pattern[i+1:]
			}
		}
	}
	return pattern, ""
}

// testArgs are args with -test.run narrowed to one top-level test, keeping
// what the original pattern says of its subtests.
func testArgs(args []string, name string) []string {
	pattern := "^" + regexp.QuoteMeta(name) + "$"
	if run, ok := runFlag(args); ok {
		if _, rest := splitRun(run); rest != "" {
			pattern += "/" + rest
		}
	}
	return append(append([]string{}, args...), "-test.run="+pattern)
}

// listTests asks the test binary for its top-level tests that the run's
// -test.run pattern selects (-test.list); benchmarks, which -test.run does
// not run, are left out.
func listTests(cfg guest.Config) ([]string, error) {
	pattern := ".*"
	if run, ok := runFlag(cfg.Args); ok {
		if top, _ := splitRun(run); top != "" {
			pattern = top
		}
	}
	cmd := exec.Command(cfg.Program, "-test.list", pattern)
	cmd.Dir = programDir
	cmd.Env = programEnv(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the tests (%s -test.list %q): %w: %s", cfg.Program, pattern, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "Benchmark") && !strings.Contains(line, " ") {
			names = append(names, line)
		}
	}
	return names, nil
}

// SPDX-License-Identifier: MIT

// Package kcov turns the kernel's gcov counters, which the guest runner
// reads from /sys/kernel/debug/gcov and sends to the host (guest.EvGcov),
// into lcov tracefiles, genhtml's HTML report and a per-file summary.
//
// The notes (.gcno) come from where the kernel and the module were built:
// a kernel built here with the coverage flavour keeps those of
// drivers/connector and the sources in its entry's gcov/ (see
// kernel.Kernel.Gcov), and the module cache keeps the module's beside its
// .ko. Both name their sources relative to those directories
// (-fprofile-prefix-map), which lcov's --base-directory resolves.
package kcov

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Counter is one .gcda file from the guest: Name is its path under
// /sys/kernel/debug/gcov, which is the object's path where it was built.
type Counter struct {
	Name string
	Data []byte
}

// Set is the counters of one part of a run: the whole run, or one test.
type Set struct {
	Label    string // guest.GcovAll, a test's name, guest.GcovSetup…
	Counters []Counter
}

// Inputs say where the notes and sources are.
type Inputs struct {
	// Kernel is the kernel entry's gcov directory (kernel.Kernel.Gcov):
	// obj/ holds the notes, src/ the sources.
	Kernel string
	// Module is the directory the module was built in, with its notes
	// and sources; ModuleName names it in reports ("kmod").
	Module, ModuleName string
}

// Report is what Make wrote and found.
type Report struct {
	Dir  string // where it was written
	Info string // the tracefile of the whole run, coverage.info
	HTML string // genhtml's index.html
	// Files is the whole run's coverage, one entry per source file, in
	// the order of the tracefile.
	Files []*FileCoverage
	// Tests are the per-test tracefiles, by label, in the order the
	// sets came (per-test runs only).
	Tests []TestTrace
	Lcov  string // the lcov version used
}

// TestTrace is one set's tracefile and coverage.
type TestTrace struct {
	Label string
	Info  string
	Files []*FileCoverage
}

// Make writes, into dir: coverage.info, the tracefile of all the sets
// added up; html/ with genhtml's report of it; and, when there is more
// than one set, tests/NAME.info for each. work is scratch space.
func Make(ctx context.Context, dir string, in Inputs, sets []Set) (*Report, error) {
	l, err := findLcov(ctx)
	if err != nil {
		return nil, err
	}
	if in.Kernel == "" {
		return nil, fmt.Errorf("the kernel has no gcov notes: it must be built here with CONFIG_GCOV_KERNEL (the coverage flavour, debian-src:6.12@coverage)")
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("the guest sent no gcov counters")
	}
	work, err := os.MkdirTemp(dir, ".kcov-work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	notes, err := kernelNotes(in.Kernel)
	if err != nil {
		return nil, err
	}
	rep := &Report{Dir: dir, Info: filepath.Join(dir, "coverage.info"), Lcov: l.text}
	var infos []string
	for i, set := range sets {
		info, err := captureSet(ctx, l, filepath.Join(work, fmt.Sprint(i)), in, notes, set)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", set.Label, err)
		}
		infos = append(infos, info)
	}
	total := filepath.Join(work, "total.info")
	if err := l.merge(ctx, work, total, infos...); err != nil {
		return nil, err
	}
	// The tracefiles name the sources in the run directory's src/, where
	// the sources are copied: the report outlives the kernel's entry.
	src := filepath.Join(dir, "src")
	if err := relocate(total, rep.Info, src, in); err != nil {
		return nil, err
	}
	if rep.Files, err = readNamed(rep.Info, src); err != nil {
		return nil, err
	}
	if len(sets) > 1 {
		tests := filepath.Join(dir, "tests")
		if err := os.MkdirAll(tests, 0o755); err != nil {
			return nil, err
		}
		for i, set := range sets {
			t := TestTrace{Label: set.Label, Info: filepath.Join(tests, fileName(set.Label)+".info")}
			if err := relocate(infos[i], t.Info, src, in); err != nil {
				return nil, err
			}
			if t.Files, err = readNamed(t.Info, src); err != nil {
				return nil, err
			}
			rep.Tests = append(rep.Tests, t)
		}
	}
	html := filepath.Join(dir, "html")
	if err := l.html(ctx, rep.Info, html, src, "cnvmtest kernel coverage"); err != nil {
		return nil, err
	}
	rep.HTML = filepath.Join(html, "index.html")
	return rep, nil
}

// kernelNotes lists the kernel's notes, relative to gcov/obj.
func kernelNotes(gcov string) ([]string, error) {
	obj := filepath.Join(gcov, "obj")
	var notes []string
	err := filepath.WalkDir(obj, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gcno") {
			rel, _ := filepath.Rel(obj, p)
			notes = append(notes, rel)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's gcov notes: %w", err)
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("no gcov notes in %s", obj)
	}
	return notes, nil
}

// captureSet lays out one set's counters beside their notes and makes
// one tracefile of them: the kernel's and the module's are captured
// apart, their sources being relative to different directories.
func captureSet(ctx context.Context, l *lcov, work string, in Inputs, notes []string, set Set) (string, error) {
	kdir, mdir := filepath.Join(work, "kernel"), filepath.Join(work, "module")
	var haveK, haveM bool
	for _, c := range set.Counters {
		if !strings.HasSuffix(c.Name, ".gcda") {
			return "", fmt.Errorf("%s is no gcov counter file", c.Name)
		}
		base := strings.TrimSuffix(c.Name, ".gcda")
		var from, to string
		if i := slices.IndexFunc(notes, func(n string) bool {
			return strings.HasSuffix(base, "/obj/"+strings.TrimSuffix(n, ".gcno"))
		}); i >= 0 {
			rel := strings.TrimSuffix(notes[i], ".gcno")
			from, to, haveK = filepath.Join(in.Kernel, "obj", notes[i]), filepath.Join(kdir, rel), true
		} else if note := filepath.Join(in.Module, filepath.Base(base)+".gcno"); in.Module != "" && exists(note) {
			from, to, haveM = note, filepath.Join(mdir, filepath.Base(base)), true
		} else {
			return "", fmt.Errorf("no gcov notes for %s: it is neither the kernel's (%s) nor the module's (%s)", c.Name, in.Kernel, in.Module)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return "", err
		}
		if err := copyFile(from, to+".gcno"); err != nil {
			return "", err
		}
		if err := os.WriteFile(to+".gcda", c.Data, 0o644); err != nil {
			return "", err
		}
	}
	var parts []string
	if haveK {
		info := filepath.Join(work, "kernel.info")
		// The profiled directories are those of the notes.
		var keep []string
		for _, n := range notes {
			if d := filepath.Join(in.Kernel, "src", filepath.Dir(n)); !slices.Contains(keep, d) {
				keep = append(keep, d)
			}
		}
		if err := l.capture(ctx, kdir, in.Kernel, keep, info); err != nil {
			return "", err
		}
		parts = append(parts, info)
	}
	if haveM {
		info := filepath.Join(work, "module.info")
		// The module's own sources: a module build runs in the kbuild
		// tree, and its notes name the kernel's headers relative to it
		// (./arch/x86/include/…), which lcov puts under base too.
		keep, err := moduleSources(in.Module)
		if err != nil {
			return "", err
		}
		if err := l.capture(ctx, mdir, in.Module, keep, info); err != nil {
			return "", err
		}
		parts = append(parts, info)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("no counters")
	}
	out := filepath.Join(work, "set.info")
	return out, l.merge(ctx, work, out, parts...)
}

// readNamed reads a tracefile whose sources are under src and names its
// files by their paths there.
func readNamed(info, src string) ([]*FileCoverage, error) {
	files, err := ReadTracefile(info)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if rel, err := filepath.Rel(src, f.Path); err == nil && filepath.IsLocal(rel) {
			f.Name = rel
		}
	}
	return files, nil
}

// displayName is a source's path in the kernel tree, or the module's
// name and the file's.
func displayName(path string, in Inputs) string {
	if rel, err := filepath.Rel(filepath.Join(in.Kernel, "src"), path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	if rel, err := filepath.Rel(in.Module, path); in.Module != "" && err == nil && filepath.IsLocal(rel) {
		return filepath.Join(in.ModuleName, rel)
	}
	return path
}

// relocate copies the tracefile from to to, with each source file (SF
// line) copied under src at its display name and named there.
func relocate(from, to, src string, in Inputs) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		path, ok := strings.CutPrefix(line, "SF:")
		if !ok {
			continue
		}
		name := displayName(path, in)
		if filepath.IsAbs(name) {
			return fmt.Errorf("the tracefile names %s, outside the kernel's and the module's sources", path)
		}
		dst := filepath.Join(src, name)
		if !exists(dst) {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := copyFile(path, dst); err != nil {
				return fmt.Errorf("copying the source: %w", err)
			}
		}
		lines[i] = "SF:" + dst
	}
	return os.WriteFile(to, []byte(strings.Join(lines, "\n")), 0o644)
}

// moduleSources lists the C files and headers of the module's directory.
func moduleSources(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h")) && !strings.HasSuffix(p, ".mod.c") {
			files = append(files, p)
		}
		return err
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no C sources in the module's directory %s", dir)
	}
	return files, err
}

var unsafeRE = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// fileName makes a label a file name: "TestEcho" stays, "(setup)" is
// "_setup_".
func fileName(label string) string { return unsafeRE.ReplaceAllString(label, "_") }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

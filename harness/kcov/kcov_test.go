// SPDX-License-Identifier: MIT

package kcov

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A profiled "kernel" file and a "module" file, built as the coverage
// flavour and the module build build them: the notes name the sources
// relative to where they are kept (-fprofile-prefix-map).
const (
	kernelC = `#include "inl.h"
int cn_used(int x)
{
	if (x > 1)
		return 2;
	return inl(1);
}

int cn_unused(void)
{
	return 3;
}
`
	moduleC = `#include "minl.h"
int cn_used(int x);

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 5)
		return 1;
	return cn_used(argc) - minl(1);
}
`
)

// build compiles the two files as a kernel tree (src/ and obj/ under
// tree) and a module directory, runs the program once, and returns the
// inputs Make reads, as the store and the module cache keep them, and
// the counters, named as under /sys/kernel/debug/gcov.
func build(t *testing.T) (Inputs, []Counter) {
	t.Helper()
	for _, tool := range []string{"gcc", "gcov", "lcov", "genhtml"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps)", tool)
		}
	}
	root := t.TempDir()
	tree, mod := filepath.Join(root, "tmp/build"), filepath.Join(root, "modules/abc.build")
	src, obj := filepath.Join(tree, "src"), filepath.Join(tree, "obj")
	for _, d := range []string{filepath.Join(src, "drivers/connector"), filepath.Join(obj, "drivers/connector"), mod} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(src, "drivers/connector/connector.c"), []byte(kernelC), 0o644)
	// A header of the kernel's include/, which the store does not keep:
	// its inline function's lines are left out of the report.
	os.MkdirAll(filepath.Join(src, "include"), 0o755)
	os.WriteFile(filepath.Join(src, "include/inl.h"), []byte("static inline int inl(int x)\n{\n\treturn x;\n}\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "cn_echo.c"), []byte(moduleC), 0o644)
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cov := []string{"gcc", "-c", "-fprofile-arcs", "-ftest-coverage"}
	run(obj, append(cov, "-I"+filepath.Join(src, "include"), "-fprofile-prefix-map="+src+"/=src/", "-o", "drivers/connector/connector.o", filepath.Join(src, "drivers/connector/connector.c"))...)
	// A module builds in the kbuild tree, which the notes name its
	// headers relative to.
	kbuild := filepath.Join(root, "kbuild")
	os.MkdirAll(filepath.Join(kbuild, "inc"), 0o755)
	os.WriteFile(filepath.Join(kbuild, "inc/minl.h"), []byte("static inline int minl(int x)\n{\n\treturn x;\n}\n"), 0o644)
	run(kbuild, append(cov, "-I./inc", "-fprofile-prefix-map="+mod+"/=", "-o", filepath.Join(mod, "cn_echo.o"), filepath.Join(mod, "cn_echo.c"))...)
	run(mod, "gcc", "--coverage", "-o", "prog", "cn_echo.o", filepath.Join(obj, "drivers/connector/connector.o"))
	run(mod, "./prog")

	// What the store keeps (kernel.Kernel.Gcov) and the module cache's
	// rename of its build directory.
	gcov := filepath.Join(root, "kernels/k/gcov")
	os.MkdirAll(filepath.Join(gcov, "obj/drivers/connector"), 0o755)
	os.MkdirAll(filepath.Join(gcov, "src/drivers/connector"), 0o755)
	copyFile(filepath.Join(obj, "drivers/connector/connector.gcno"), filepath.Join(gcov, "obj/drivers/connector/connector.gcno"))
	copyFile(filepath.Join(src, "drivers/connector/connector.c"), filepath.Join(gcov, "src/drivers/connector/connector.c"))
	var counters []Counter
	for _, f := range []string{filepath.Join(obj, "drivers/connector/connector.gcda"), filepath.Join(mod, "cn_echo.gcda")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		counters = append(counters, Counter{Name: strings.TrimPrefix(f, "/"), Data: b})
	}
	modDir := filepath.Join(root, "modules/abc")
	if err := os.Rename(mod, modDir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	return Inputs{Kernel: gcov, Module: modDir, ModuleName: "kmod"}, counters
}

func TestMake(t *testing.T) {
	in, counters := build(t)
	out := t.TempDir()
	rep, err := Make(context.Background(), out, in, []Set{
		{Label: "(setup)", Counters: counters[1:]},
		{Label: "TestA", Counters: counters},
	})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*FileCoverage{}
	for _, f := range rep.Files {
		byName[f.Name] = f
	}
	k, m := byName["drivers/connector/connector.c"], byName["kmod/cn_echo.c"]
	if k == nil || m == nil || len(rep.Files) != 2 {
		t.Fatalf("files %v, want drivers/connector/connector.c and kmod/cn_echo.c", rep.Files)
	}
	// The program ran once with argc 1: cn_used's return 2 and cn_unused
	// never ran; the module's "return 1" neither.
	if got := k.Uncovered(); !slices.Equal(got, []int{5, 9, 11}) {
		t.Errorf("connector.c uncovered lines %v, want [5 9 11]", got)
	}
	if k.Functions != (Count{Hit: 1, Found: 2}) || k.Branches.Found == 0 || k.Branches.Hit == k.Branches.Found {
		t.Errorf("connector.c functions %v branches %v, want 1/2 and some branches missed", k.Functions, k.Branches)
	}
	if got := m.Uncovered(); !slices.Equal(got, []int{8}) {
		t.Errorf("cn_echo.c uncovered lines %v, want [8]", got)
	}
	// Two sets of the same module counters add up.
	if m.Hits[9] != 2 {
		t.Errorf("cn_echo.c line 9 ran %d times in total, want 2", m.Hits[9])
	}
	if len(rep.Tests) != 2 || rep.Tests[0].Label != "(setup)" || len(rep.Tests[0].Files) != 1 {
		t.Errorf("per-set tracefiles %+v, want (setup) with the module only, then TestA", rep.Tests)
	}
	for _, p := range []string{rep.Info, rep.HTML, filepath.Join(out, "src/kmod/cn_echo.c"), filepath.Join(out, "tests/_setup_.info")} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

func TestMakeUnknownCounter(t *testing.T) {
	in, counters := build(t)
	counters[0].Name = "elsewhere/fs/x.gcda"
	_, err := Make(context.Background(), t.TempDir(), in, []Set{{Label: "(all)", Counters: counters}})
	if err == nil || !strings.Contains(err.Error(), "no gcov notes for elsewhere/fs/x.gcda") {
		t.Errorf("got %v, want an error naming the file without notes", err)
	}
}

func TestParseLcovVersion(t *testing.T) {
	for out, want := range map[string]int{"lcov: LCOV version 1.16\n": 1, "lcov: LCOV version 2.0-1\n": 2, "lcov: LCOV version 2.3.1-1": 2} {
		l, err := parseLcovVersion(out)
		if err != nil || l.major != want {
			t.Errorf("parseLcovVersion(%q) = %v, %v; want major %d", out, l, err, want)
		}
	}
	if _, err := parseLcovVersion("lcov: LCOV version 3.0"); err == nil {
		t.Error("lcov 3.0 accepted")
	}
}

// SPDX-License-Identifier: MIT

package build

import (
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModuleHash(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"Kbuild": "obj-m += m.o\n", "m.c": "int x;\n"})
	m := Module{Src: src, Key: "6.1.0-57-amd64@6.1.192-3"}
	h1, err := m.hash()
	if err != nil {
		t.Fatal(err)
	}
	// Build products in the source tree must not change the key.
	writeFiles(t, src, map[string]string{"m.o": "obj", "m.ko": "ko", ".m.o.cmd": "cmd"})
	if h2, _ := m.hash(); h2 != h1 {
		t.Errorf("build products changed the hash")
	}
	writeFiles(t, src, map[string]string{"m.c": "int y;\n"})
	if h3, _ := m.hash(); h3 == h1 {
		t.Errorf("a source change kept the hash")
	}
	other := m
	other.Key = "6.12.117+deb12-amd64@6.12.117-1"
	other.Src = src
	writeFiles(t, src, map[string]string{"m.c": "int x;\n"})
	if h4, _ := other.hash(); h4 == h1 {
		t.Errorf("another kernel kept the hash")
	}
}

func TestModuleBuildWithoutKernelTree(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"Kbuild": "obj-m += m.o\n", "m.c": "int x;\n"})
	m := Module{Src: src, KDir: filepath.Join(t.TempDir(), "missing"), Kernel: "6.1.0-57-amd64", Cache: t.TempDir()}
	_, err := m.Build(context.Background(), io.Discard)
	var merr *ModuleError
	if !errors.As(err, &merr) {
		t.Fatalf("Build = %v, want a *ModuleError", err)
	}
	if !strings.Contains(err.Error(), "6.1.0-57-amd64") || !strings.Contains(err.Error(), "no kbuild tree") {
		t.Errorf("error %q does not name the kernel and the missing tree", err)
	}
}

// TestModuleBuildFailureKeepsCompilerOutput uses a fake kbuild tree whose
// Makefile fails like a compiler would.
func TestModuleBuildFailureKeepsCompilerOutput(t *testing.T) {
	kdir := t.TempDir()
	writeFiles(t, kdir, map[string]string{"Makefile": "modules:\n\t@echo 'm.c:1:1: error: expected identifier' >&2; exit 1\n"})
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"Kbuild": "obj-m += m.o\n", "m.c": "garbage\n"})
	m := Module{Src: src, KDir: kdir, Kernel: "7.3.4-amd64", Cache: t.TempDir()}
	_, err := m.Build(context.Background(), io.Discard)
	var merr *ModuleError
	if !errors.As(err, &merr) || !strings.Contains(merr.Output, "error: expected identifier") {
		t.Fatalf("Build = %v, want a *ModuleError with the compiler's output", err)
	}
}

// TestModuleBuildCaches uses a fake kbuild tree that "builds" a .ko and
// counts its runs: the second build of the same sources must not run make.
func TestModuleBuildCaches(t *testing.T) {
	kdir := t.TempDir()
	count := filepath.Join(t.TempDir(), "count")
	writeFiles(t, kdir, map[string]string{"Makefile": "modules:\n\techo run >> " + count + "\n\ttouch $(M)/m.ko\n"})
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"Kbuild": "obj-m += m.o\n", "m.c": "int x;\n"})
	m := Module{Src: src, KDir: kdir, Kernel: "k", Key: "k", Cache: t.TempDir()}
	ko1, err := m.Build(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ko2, err := m.Build(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if ko1 != ko2 {
		t.Errorf("second build gave %s, want the cached %s", ko2, ko1)
	}
	runs, _ := os.ReadFile(count)
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Errorf("make ran %d times, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(src, "m.ko")); err == nil {
		t.Errorf("the build wrote into the source tree")
	}
}

// TestModuleBuildCopiesIncludes uses a fake kbuild tree that "builds" a .ko
// only when the header listed in IncludeFile sits next to the sources, as
// the fault module needs kmod/cn_common.h.
func TestModuleBuildCopiesIncludes(t *testing.T) {
	kdir := t.TempDir()
	writeFiles(t, kdir, map[string]string{"Makefile": "modules:\n\tgrep -q common $(M)/common.h\n\ttouch $(M)/m.ko\n"})
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"lib/common.h":       "/* common */\n",
		"mod/Kbuild":         "obj-m += m.o\n",
		"mod/m.c":            "#include \"common.h\"\n",
		"mod/" + IncludeFile: "# the common header\n\n../lib/common.h\n",
	})
	m := Module{Src: filepath.Join(root, "mod"), KDir: kdir, Kernel: "k", Key: "k", Cache: t.TempDir()}
	h1, err := m.hash()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Build(context.Background(), io.Discard); err != nil {
		t.Fatalf("Build with an included header: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "mod", "common.h")); err == nil {
		t.Errorf("the build wrote the included header into the source tree")
	}
	writeFiles(t, root, map[string]string{"lib/common.h": "/* common, changed */\n"})
	if h2, _ := m.hash(); h2 == h1 {
		t.Errorf("a change of the included header kept the hash")
	}
}

func TestModuleIncludeErrors(t *testing.T) {
	tests := []struct {
		name, include, want string
	}{
		{name: "missing file", include: "../nothing.h\n", want: "line 1"},
		{name: "replaces a source", include: "../other/m.c\n", want: "would replace"},
		{name: "same name twice", include: "../a/h.h\n../b/h.h\n", want: "same name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{
				"mod/m.c": "", "other/m.c": "", "a/h.h": "", "b/h.h": "",
				"mod/" + IncludeFile: tt.include,
			})
			m := Module{Src: filepath.Join(root, "mod")}
			if _, err := m.hash(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("hash() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestGuestModule(t *testing.T) {
	if _, err := exec.LookPath("objcopy"); err != nil {
		t.Skip("no objcopy")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.c")
	os.WriteFile(src, []byte("int answer(int x) { return x * 42; }\n"), 0o644)
	ko := filepath.Join(dir, "m.ko")
	if out, err := exec.Command("gcc", "-g", "-c", "-o", ko, src).CombinedOutput(); err != nil {
		t.Skipf("no gcc to make an object with debug information: %v\n%s", err, out)
	}
	hasDebug := func(name string) bool {
		f, err := elf.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return f.Section(".debug_info") != nil
	}
	if !hasDebug(ko) {
		t.Fatal("gcc -g made no .debug_info")
	}

	got := GuestModule(context.Background(), ko, "")
	if got == ko || filepath.Base(got) != "m.ko" {
		t.Fatalf("GuestModule = %s, want a copy named m.ko", got)
	}
	if hasDebug(got) {
		t.Error("the guest's copy still has .debug_info")
	}
	f, err := elf.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.Symbols()
	f.Close()
	if !slices.ContainsFunc(syms, func(s elf.Symbol) bool { return s.Name == "answer" }) {
		t.Error("the guest's copy lost its symbols, which the kernel's reports name")
	}
	if !hasDebug(ko) {
		t.Error("the host's module lost its debug information")
	}
	if again := GuestModule(context.Background(), ko, ""); again != got {
		t.Errorf("a second call made %s, want the first copy %s", again, got)
	}

	other := filepath.Join(t.TempDir(), "n.ko")
	os.WriteFile(other, []byte("not an object"), 0o644)
	if got := GuestModule(context.Background(), other, "no-such-triple-"); got != other {
		t.Errorf("without the toolchain's objcopy GuestModule = %s, want the module itself", got)
	}
}

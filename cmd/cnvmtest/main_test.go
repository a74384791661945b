// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBadInvocations checks that every mistake in the arguments exits with
// the usage status, names the cause, and leaves nothing behind: no run
// directory and no out/latest, so nothing was downloaded or built either.
func TestBadInvocations(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"run", "-nosuchflag"}, "flag provided but not defined"},
		{"exec without program", []string{"exec"}, "no program given"},
		{"exec of a missing file", []string{"exec", "--", "/nonexistent/prog"}, "no such file"},
		{"exec of a script", []string{"exec", "--", script}, "not an ELF program"},
		{"exec of a dynamic program", []string{"exec", "--", "/bin/sh"}, "CGO_ENABLED=0"},
		{"stray argument", []string{"run", "extra"}, "unexpected arguments"},
		{"bad env", []string{"run", "-env", "NOEQUALS"}, "want K=V"},
		{"bad accelerator", []string{"run", "-accel", "hvf"}, `unknown accelerator "hvf"`},
		{"bad init", []string{"run", "-init", "systemd"}, `unknown init "systemd": want runner, u-root`},
		{"bad kernel spec", []string{"run", "-kernel", "nonsense:1"}, "nonsense:1"},
		{"bad spec in a matrix", []string{"run", "-kernel", "debian:6.1,nonsense:1"}, "nonsense:1"},
		{"missing module", []string{"run", "-kmod", "/nonexistent"}, "/nonexistent"},
		{"module without Kbuild", []string{"run", "-kmod", "."}, "no Kbuild or Makefile"},
		{"missing tests", []string{"run", "-tests", "./nonexistent"}, "nonexistent"},
		{"missing file", []string{"run", "-file", "/nonexistent/f"}, "/nonexistent/f"},
		{"bad repo", []string{"run", "-repo", "/"}, "not a cnvmtest source tree"},
		{"negative count", []string{"run", "-count", "-1"}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := run(append(tt.args[:1:1], append([]string{"-out", out}, tt.args[1:]...)...), &stdout, &stderr)
			if tt.args[0] == "frobnicate" {
				code = run(tt.args, &stdout, &stderr)
			}
			if code != exitUsage {
				t.Fatalf("run(%q) exited %d, want %d (usage)\n%s", tt.args, code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("run(%q) printed %q, want it to contain %q", tt.args, stderr.String(), tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("run(%q) created %s", tt.args, out)
			}
		})
	}
}

// TestVMTESTVariables checks the variables of vmtest's qemu package that
// cnvmtest refuses, before anything runs.
func TestVMTESTVariables(t *testing.T) {
	for _, tt := range []struct{ name, value, want string }{
		{"VMTEST_KERNEL", "/boot/vmlinuz", "-kernel path:IMAGE,KDIR"},
		{"VMTEST_INITRAMFS", "/tmp/x.cpio", "initramfs"},
		{"VMTEST_ARCH", "arm64", "amd64"},
		{"VMTEST_QEMU", "qemu-system-x86_64 -kernel /boot/vmlinuz", "sets -kernel itself"},
		{"VMTEST_QEMU_APPEND", "-serial stdio", "sets -serial itself"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.name, tt.value)
			var stdout, stderr bytes.Buffer
			out := filepath.Join(t.TempDir(), "out")
			if code := run([]string{"run", "-out", out}, &stdout, &stderr); code != exitUsage {
				t.Fatalf("%s=%q: exit %d, want %d\n%s", tt.name, tt.value, code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("%s=%q: printed %q, want %q in it", tt.name, tt.value, stderr.String(), tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"run", "-version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%q exited %d: %s", args, code, stderr.String())
		}
		if !regexp.MustCompile(`^cnvmtest \S+ revision \S+.* go1\.\d+`).MatchString(stdout.String()) {
			t.Errorf("%q printed %q, want the module version, a revision and the Go version", args, stdout.String())
		}
	}
}

func TestFindRepo(t *testing.T) {
	dir, err := findRepo("")
	if err != nil || dir == "" {
		t.Fatalf("findRepo from the source tree = %q, %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kmod")); err != nil {
		t.Errorf("findRepo = %s, which has no kmod/", dir)
	}
	t.Chdir(t.TempDir())
	if dir, err := findRepo(""); err != nil || dir != "" {
		t.Errorf("findRepo outside the tree = %q, %v; want none: cnvmtest then runs on what it carries", dir, err)
	}
}

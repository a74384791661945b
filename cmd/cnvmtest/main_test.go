package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadInvocations(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"run", "-nosuchflag"}, "flag provided but not defined"},
		{"exec without program", []string{"exec"}, "no program given"},
		{"exec of a missing file", []string{"exec", "--", "/nonexistent/prog"}, "not an ELF program"},
		{"stray argument", []string{"run", "extra"}, "unexpected arguments"},
		{"bad env", []string{"run", "-env", "NOEQUALS"}, "want K=V"},
		{"bad accelerator", []string{"run", "-accel", "hvf", "-repo", "."}, `unknown accelerator "hvf"`},
		{"bad init", []string{"run", "-init", "systemd", "-repo", "."}, `unknown -init "systemd": want runner or u-root`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != 2 {
				t.Fatalf("run(%q) exited %d, want 2 (usage)", tt.args, code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("run(%q) printed %q, want it to contain %q", tt.args, stderr.String(), tt.want)
			}
		})
	}
}

func TestCheckStatic(t *testing.T) {
	if err := checkStatic("/bin/sh"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("checkStatic(/bin/sh) = %v, want a dynamic-linking error", err)
	}
	text := filepath.Join(t.TempDir(), "script")
	os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755)
	if err := checkStatic(text); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("checkStatic(script) = %v, want not an ELF", err)
	}
}

func TestFindRepo(t *testing.T) {
	dir, err := findRepo("")
	if err != nil {
		t.Fatalf("findRepo from the source tree: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kmod")); err != nil {
		t.Errorf("findRepo = %s, which has no kmod/", dir)
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(t.TempDir())
	if _, err := findRepo(""); err == nil || !strings.Contains(err.Error(), "-repo") {
		t.Errorf("findRepo outside the tree = %v, want advice to pass -repo", err)
	}
}

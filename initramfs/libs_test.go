// SPDX-License-Identifier: MIT

package initramfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSharedLibrariesOfDynamicProgram(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this host")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	files, err := SharedLibraries(sh)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		if _, err := os.Stat(f.Source); err != nil {
			t.Errorf("%s: source %s: %v", f.Name, f.Source, err)
		}
	}
	got := strings.Join(names, " ")
	if !strings.Contains(got, "ld-linux") || !strings.Contains(got, "libc.so") {
		t.Errorf("SharedLibraries(%s) = %s, want the loader and libc", sh, got)
	}
}

func TestSharedLibrariesOfStaticProgram(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644)
	bin := filepath.Join(dir, "static")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	files, err := SharedLibraries(bin)
	if err != nil || len(files) != 0 {
		t.Errorf("SharedLibraries(static) = %v, %v; want nothing", files, err)
	}
}

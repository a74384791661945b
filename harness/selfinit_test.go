// SPDX-License-Identifier: MIT

package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// buildProgram builds a program of module mod in a new directory that
// prints text, and returns the directory and the binary.
func buildProgram(t *testing.T, mod, text string) (dir, bin string) {
	t.Helper()
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+mod+"\n\ngo 1.22\n"), 0o644)
	src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(" + strconv.Quote(text) + ") }\n"
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644)
	bin = filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}

func TestTestsAreRunner(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	inside, insideBin := buildProgram(t, "example.com/tree", guest.RunnerInside())
	plain, plainBin := buildProgram(t, "example.com/tree", "no runner here")
	other, otherBin := buildProgram(t, "example.com/other", guest.RunnerInside())
	for _, c := range []struct {
		name                string
		bin, testsDir, repo string
		want                bool
	}{
		{"links the runner, built in the repository", insideBin, inside, inside, true},
		{"a package below the repository's root", insideBin, filepath.Join(inside, "vmtests"), inside, true},
		{"no runner linked", plainBin, plain, plain, false},
		{"another module, which may pin another runner", otherBin, other, inside, false},
		{"tests outside the repository", insideBin, inside, filepath.Join(inside, "sub"), false},
		{"no source tree: the runner is the cnvmtest binary", insideBin, inside, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.repo != "" && c.repo != inside && c.repo != plain {
				os.MkdirAll(c.repo, 0o755)
				os.WriteFile(filepath.Join(c.repo, "go.mod"), []byte("module example.com/tree\n"), 0o644)
			}
			got, err := testsAreRunner(c.bin, c.testsDir, c.repo)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("testsAreRunner = %v, want %v", got, c.want)
			}
		})
	}
}

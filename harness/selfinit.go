// SPDX-License-Identifier: MIT

package harness

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/mod/modfile"
)

// testsAreRunner reports whether the test binary bin, built from the
// package in testsDir, can boot as the guest's /init and be its own runner
// (runner.AsInit, called first by vmtests' TestMain): it holds
// guest.RunnerInside(), and it was built in the module whose root is repo,
// the tree the separate runner would be built from, so the two runners are
// one source. A test package of another module (a user's, which may pin
// another cnvmtest) boots behind the separate runner, whatever it links.
func testsAreRunner(bin, testsDir, repo string) (bool, error) {
	if repo == "" {
		return false, nil
	}
	if rel, err := filepath.Rel(repo, testsDir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return false, nil
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return false, err
	}
	mod := modfile.ModulePath(gomod)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false, fmt.Errorf("reading the build information of the test binary: %w", err)
	}
	if info.Main.Path != mod {
		return false, nil
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return false, err
	}
	return bytes.Contains(b, []byte(guest.RunnerInside())), nil
}

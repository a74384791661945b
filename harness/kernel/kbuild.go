// SPDX-License-Identifier: MIT

package kernel

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Debian's linux-headers-*-amd64 Makefile reaches the common headers by
// absolute path ("include /usr/src/linux-headers-6.1.0-57-common/Makefile";
// 7.x also sets KBUILD_OUTPUT=/usr/src/linux-headers-…-amd64). The headers
// live elsewhere here, so those paths are made relative to the Makefile's
// own directory, which keeps the entry working wherever the store moves.
var usrSrcRE = regexp.MustCompile(`(^|[\s=])/usr/src/`)

const rootVar = "cnvmtest_root"

// fixBuildDir rewrites the kbuild tree's Makefile; buildDir is relative to root.
func fixBuildDir(root, buildDir string) error {
	mk := filepath.Join(root, buildDir, "Makefile")
	b, err := os.ReadFile(mk)
	if err != nil {
		return err
	}
	if !usrSrcRE.Match(b) {
		return nil
	}
	up, err := filepath.Rel(buildDir, ".")
	if err != nil {
		return err
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# cnvmtest unpacked these headers outside /usr/src: paths are relative to this Makefile.\n")
	fmt.Fprintf(&out, "%s := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))%s)\n", rootVar, up)
	out.WriteString(usrSrcRE.ReplaceAllString(string(b), "${1}$("+rootVar+")/usr/src/"))
	return os.WriteFile(mk, []byte(out.String()), 0o644)
}

// checkBuildDir checks what make -C buildDir needs: the Makefile's includes
// exist and scripts and tools (symlinks into linux-kbuild-*) resolve to
// directories inside root.
func checkBuildDir(root, buildDir string) error {
	dir := filepath.Join(root, buildDir)
	f, err := os.Open(filepath.Join(dir, "Makefile"))
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		inc, ok := strings.CutPrefix(s.Text(), "include ")
		if !ok {
			continue
		}
		inc = strings.ReplaceAll(strings.TrimSpace(inc), "$("+rootVar+")", root)
		if _, err := os.Stat(inc); err != nil {
			return fmt.Errorf("the Makefile includes a missing file: %w", err)
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	for _, name := range []string{"scripts", "tools", ".config", "Module.symvers"} {
		p, err := filepath.EvalSymlinks(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if rel, err := filepath.Rel(realRoot, p); err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("%s resolves to %s, outside the entry", name, p)
		}
	}
	return nil
}

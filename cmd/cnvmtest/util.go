// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// findRepo returns the cnvmtest source tree: dir if given, else the nearest
// directory above the working directory whose go.mod declares this module,
// else "" (cnvmtest then runs on what its binary carries).
func findRepo(dir string) (string, error) {
	if dir != "" {
		d, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if !isRepo(d) {
			return "", fmt.Errorf("-repo %s: not a cnvmtest source tree (no go.mod declaring github.com/cnvmtest/cnvmtest)", d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isRepo(d) {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", nil
		}
	}
}

// moduleRoot returns the nearest directory at or above dir with a go.mod,
// or dir: go test -exec runs in a package's directory, and the run
// directories belong beside the module's, not among its sources.
func moduleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

func isRepo(d string) bool {
	b, err := os.ReadFile(filepath.Join(d, "go.mod"))
	return err == nil && bytes.Contains(b, []byte("module github.com/cnvmtest/cnvmtest\n"))
}

func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return d, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

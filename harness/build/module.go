// SPDX-License-Identifier: MIT

// Package build compiles what goes into the guest: the kernel module under
// test, against a kernel's kbuild tree, and static Go binaries (the guest
// runner, the test binary, programs for exec).
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cnvmtest/cnvmtest/internal/flock"
)

// ModuleError is a module that did not build for a kernel. Output holds
// what make and the compiler printed.
type ModuleError struct {
	Kernel string
	Output string
	Err    error
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("module build failed for kernel %s: %v\n%s", e.Kernel, e.Err, e.Output)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// IncludeFile, in a module's source directory, lists files or directories
// outside it that the build copies next to the sources, one path a line,
// relative to the source directory; blank lines and lines starting with #
// are ignored. Each is copied under its base name, so a module can
// `#include "cn_common.h"` from another directory of the repository:
//
//	# harness/selftest/faultmod/cnvmtest.include
//	../../../kmod/cn_common.h
const IncludeFile = "cnvmtest.include"

// Module describes one out-of-tree module build.
type Module struct {
	// Src is the module's source directory (a Kbuild or Makefile inside,
	// and optionally an IncludeFile).
	Src string
	// KDir is the kernel's kbuild tree; Kernel names it in errors.
	KDir   string
	Kernel string
	// Key identifies the kernel build (release, package version,
	// compiler) for the cache.
	Key string
	// Make holds extra make arguments, e.g. CC=gcc-14.
	Make []string
	// Cache is the directory holding built modules by input hash.
	Cache string
	// Command, when set, makes the build command for a directory (for
	// instance make run in a chroot with the kernel's own compiler);
	// otherwise make runs on the host against KDir.
	Command func(ctx context.Context, dir string, extra ...string) *exec.Cmd
}

// Build returns the path of the built .ko, reusing an earlier build of the
// same sources for the same kernel. Sources are copied to a scratch
// directory, so the source tree stays clean and concurrent builds for
// several kernels do not collide.
func (m Module) Build(ctx context.Context, log io.Writer) (string, error) {
	hash, err := m.hash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(m.Cache, hash)
	if ko, err := singleKO(dir); err == nil {
		return ko, nil
	}
	if err := os.MkdirAll(m.Cache, 0o755); err != nil {
		return "", err
	}
	// Build in a directory named by the hash, under a lock: the path
	// ends up in the module's WARN and BUG messages, so it should be the
	// same on every build of the same sources.
	unlock, err := flock.Lock(ctx, filepath.Join(m.Cache, hash+".lock"), true, nil)
	if err != nil {
		return "", fmt.Errorf("locking the module cache: %w", err)
	}
	defer unlock()
	if ko, err := singleKO(dir); err == nil {
		return ko, nil // built by a parallel run meanwhile
	}
	work := filepath.Join(m.Cache, hash+".build")
	os.RemoveAll(work)
	defer os.RemoveAll(work)
	if err := os.CopyFS(work, os.DirFS(m.Src)); err != nil {
		return "", fmt.Errorf("copying module sources %s: %w", m.Src, err)
	}
	if err := m.copyIncludes(work); err != nil {
		return "", err
	}
	if _, err := os.Stat(m.KDir + "/Makefile"); err != nil {
		return "", &ModuleError{Kernel: m.Kernel, Err: fmt.Errorf("no kbuild tree at %s: %w", m.KDir, err)}
	}
	var cmd *exec.Cmd
	if m.Command != nil {
		cmd = m.Command(ctx, work, m.Make...)
	} else {
		args := append([]string{"-C", m.KDir, "M=" + work, "modules"}, m.Make...)
		cmd = exec.CommandContext(ctx, "make", args...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", &ModuleError{Kernel: m.Kernel, Output: out.String(), Err: err}
	}
	if _, err := singleKO(work); err != nil {
		return "", &ModuleError{Kernel: m.Kernel, Output: out.String(), Err: err}
	}
	if w := warnings(out.String()); w != "" {
		fmt.Fprintf(log, "module build for %s printed warnings:\n%s", m.Kernel, w)
	}
	// Publish by rename: a half-built entry is never visible.
	os.RemoveAll(dir)
	if err := os.Rename(work, dir); err != nil {
		return "", err
	}
	return singleKO(dir)
}

func singleKO(dir string) (string, error) {
	kos, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
	switch len(kos) {
	case 1:
		return kos[0], nil
	case 0:
		return "", fmt.Errorf("no .ko file in %s", dir)
	}
	return "", fmt.Errorf("%d .ko files in %s, want one", len(kos), dir)
}

// includes returns the absolute paths that the module's IncludeFile
// lists, or none without one.
func (m Module) includes() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(m.Src, IncludeFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	seen := map[string]string{}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p := l
		if !filepath.IsAbs(p) {
			p = filepath.Join(m.Src, p)
		}
		where := fmt.Sprintf("%s line %d", filepath.Join(m.Src, IncludeFile), i+1)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		base := filepath.Base(p)
		if _, err := os.Lstat(filepath.Join(m.Src, base)); err == nil {
			return nil, fmt.Errorf("%s: %s would replace the module's own %s", where, l, base)
		}
		if other, ok := seen[base]; ok {
			return nil, fmt.Errorf("%s: %s and %s have the same name", where, other, l)
		}
		seen[base] = l
		paths = append(paths, p)
	}
	return paths, nil
}

// copyIncludes copies the included files and directories into work.
func (m Module) copyIncludes(work string) error {
	paths, err := m.includes()
	if err != nil {
		return err
	}
	for _, p := range paths {
		dst := filepath.Join(work, filepath.Base(p))
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			err = os.CopyFS(dst, os.DirFS(p))
		} else {
			var b []byte
			if b, err = os.ReadFile(p); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		}
		if err != nil {
			return fmt.Errorf("copying %s for the module build: %w", p, err)
		}
	}
	return nil
}

// hash covers the module sources, what they include from elsewhere, the
// kernel and the make arguments.
func (m Module) hash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", m.Key, strings.Join(m.Make, " "))
	if err := hashTree(h, m.Src, ""); err != nil {
		return "", fmt.Errorf("module sources %s: %w", m.Src, err)
	}
	paths, err := m.includes()
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		if err := hashTree(h, p, filepath.Base(p)); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// hashTree writes the names (under prefix), sizes and contents of the
// regular files at root, a file or a directory, into h.
func hashTree(h io.Writer, root, prefix string) error {
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !generated(d.Name()) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, n)
		fmt.Fprintf(h, "%s %d\n", filepath.Join(prefix, rel), len(b))
		h.Write(b)
	}
	return nil
}

// generated reports kbuild's outputs, which must not change the hash.
func generated(name string) bool {
	for _, suf := range []string{".o", ".ko", ".mod", ".mod.c", ".cmd", ".order", ".symvers"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

func warnings(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "warning:") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// GuestModule returns the module ko as the guest gets it: a copy without
// debug information (objcopy --strip-debug), made once next to ko. Built
// against a kernel with debug information, a module is mostly DWARF
// (cn_echo.ko for Debian's 6.1: 510 KB, 25 KB stripped), and under TCG
// the guest's kernel pays for every byte twice, copying the initramfs
// into its page cache and reading the file at finit_module (about 20 ms a
// megabyte, timed in interleaved boots). The host keeps ko itself, for
// gdb and the reports. prefix is the cross toolchain's (CROSS_COMPILE), "" for the
// host's; without its objcopy, or if it fails, ko is returned unchanged.
func GuestModule(ctx context.Context, ko, prefix string) string {
	out := filepath.Join(filepath.Dir(ko), "guest", filepath.Base(ko))
	if _, err := os.Stat(out); err == nil {
		return out // the module cache's entries never change
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return ko
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	defer os.Remove(tmp)
	if err := exec.CommandContext(ctx, prefix+"objcopy", "--strip-debug", ko, tmp).Run(); err != nil {
		return ko
	}
	if err := os.Rename(tmp, out); err != nil {
		return ko
	}
	return out
}

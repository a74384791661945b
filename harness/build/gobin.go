// SPDX-License-Identifier: MIT

package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/internal/flock"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// staticEnv builds for the guest: linux on goarch (the guest's
// architecture: Go's names for amd64, arm64 and s390x are Debian's), no cgo, so
// binaries are static and need no libraries in the initramfs.
func staticEnv(goarch string) []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
}

// stripFlags leave out the symbol table and DWARF: a third less to copy
// into every initramfs and for the guest kernel to unpack and page in.
// Panics and tracebacks still name functions and lines (pclntab stays).
const stripFlags = "-ldflags=-s -w"

// TestBinary compiles the test package pkg (as `go test -c`) in dir to
// out for linux/goarch, with more go test flags (-cover, -coverpkg) when
// given.
func TestBinary(ctx context.Context, goarch, dir, pkg, out string, flags ...string) error {
	args := append([]string{"test", "-c", stripFlags, "-o", out}, flags...)
	return goBuild(ctx, goarch, dir, "test binary "+pkg, append(args, pkg)...)
}

// Program compiles the main package pkg in dir to out for linux/goarch.
func Program(ctx context.Context, goarch, dir, pkg, out string) error {
	return goBuild(ctx, goarch, dir, "program "+pkg, "build", stripFlags, "-o", out, pkg)
}

func goBuild(ctx context.Context, goarch, dir, what string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = staticEnv(goarch)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", what, err, out.String())
	}
	return nil
}

// ImportPath returns the import path of the package pkg seen from dir, for
// naming it in reports as go test does.
func ImportPath(ctx context.Context, dir, pkg string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("test package %s in %s: %w\n%s", pkg, dir, err, errb.String())
	}
	return string(bytes.TrimSpace(out.Bytes())), nil
}

// Stable builds with fn into cacheDir/name, a path that stays the same from
// run to run, so that go build finds its earlier output up to date and
// skips the link (about a second per binary under load, make bench); then
// it links the result to out, which the caller owns, or copies it where
// it cannot link (another file system). A lock keeps parallel runs (a
// kernel matrix) from writing the same file at once.
//
// inputs, when not "", fingerprints everything the build reads (see
// Inputs): if the binary in cacheDir was built from the same inputs, fn is
// not called at all, which saves starting the go command (a few hundred
// milliseconds of a warm run under TCG, make bench).
func Stable(ctx context.Context, cacheDir, name, out, inputs string, fn func(path string) error) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	unlock, err := flock.Lock(ctx, filepath.Join(cacheDir, name+".lock"), true, nil)
	if err != nil {
		return fmt.Errorf("locking %s: %w", cacheDir, err)
	}
	defer unlock()
	stable := filepath.Join(cacheDir, name)
	stamp := stable + ".inputs"
	if inputs == "" || !stampMatches(stamp, inputs) || !exists(stable) {
		os.Remove(stamp)
		// Earlier runs' directories share stable's inode: a build that
		// rewrote it in place would change their copies too.
		if err := unlinkShared(stable); err != nil {
			return err
		}
		if err := fn(stable); err != nil {
			return err
		}
		if inputs != "" {
			writeStamp(stamp, inputs)
		}
	}
	// A link, not a copy: the binaries are megabytes, read again at once
	// into the initramfs (a copy was 10-20 ms of a warm run).
	os.Remove(out)
	if os.Link(stable, out) == nil {
		return nil
	}
	b, err := os.ReadFile(stable)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o755)
}

// unlinkShared gives name a new inode with the same contents, which no
// earlier output links to: go build then finds its output (the build ID
// in it) up to date as before. It copies only before a build, which takes
// seconds anyway.
func unlinkShared(name string) error {
	info, err := os.Stat(name)
	if err != nil {
		return nil // nothing to keep
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	tmp := name + ".unshared"
	if err := os.WriteFile(tmp, b, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// Memo returns what fn returned for the same inputs before, kept in
// cacheDir/name, or calls fn and keeps its answer. An empty inputs always
// calls fn.
func Memo(cacheDir, name, inputs string, fn func() (string, error)) (string, error) {
	file := filepath.Join(cacheDir, name+".memo")
	if inputs != "" {
		if b, err := os.ReadFile(file); err == nil {
			if key, val, ok := strings.Cut(string(b), "\n"); ok && key == inputs {
				return val, nil
			}
		}
	}
	v, err := fn()
	if err == nil && inputs != "" && os.MkdirAll(cacheDir, 0o755) == nil {
		writeStamp(file, inputs+"\n"+v)
	}
	return v, err
}

func stampMatches(stamp, inputs string) bool {
	b, err := os.ReadFile(stamp)
	return err == nil && string(b) == inputs
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// writeStamp replaces name atomically, so that a concurrent reader sees
// the old or the new content, never a part.
func writeStamp(name, content string) {
	tmp := fmt.Sprintf("%s.%d.tmp", name, os.Getpid())
	if os.WriteFile(tmp, []byte(content), 0o644) == nil && os.Rename(tmp, name) == nil {
		return
	}
	os.Remove(tmp)
}

// maxInputFiles bounds the walk of Inputs: a tree this large (a kernel
// tree, say) costs more to walk than the go command does to check.
const maxInputFiles = 20000

// Inputs fingerprints what a Go build for linux/goarch of a package in dirs
// reads: the name, size and modification time of every file under dirs
// (but .git and the skip directories, such as the run output;
// fsutil.Fingerprint), the GO* and CGO* environment, and the go command
// itself. A source edit, a go.mod
// change, another Go toolchain or other build flags change the
// fingerprint. It returns "" for a tree of more than maxInputFiles files
// or one it cannot read, and the caller then always builds.
func Inputs(goarch string, dirs []string, skip []string) string {
	h := sha256.New()
	n := 0
	for _, dir := range dirs {
		fmt.Fprintf(h, "dir %s\n", dir)
		read, err := fsutil.Fingerprint(h, dir, skip, maxInputFiles-n)
		if err != nil || read == maxInputFiles-n {
			return ""
		}
		n += read
	}
	for _, kv := range staticEnv(goarch) {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO") {
			fmt.Fprintf(h, "%s\n", kv)
		}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(goCmd); err == nil {
		goCmd = real
	}
	info, err := os.Stat(goCmd)
	if err != nil {
		return ""
	}
	fmt.Fprintf(h, "go %s %d %d\n", goCmd, info.Size(), info.ModTime().UnixNano())
	fmt.Fprintf(h, "flags %s\n", stripFlags) // how this package builds

	return hex.EncodeToString(h.Sum(nil))
}

// CacheKey names a cache directory for the given inputs.
func CacheKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

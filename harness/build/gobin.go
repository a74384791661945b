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
	"syscall"
)

// staticEnv builds for the guest: linux/amd64, no cgo, so binaries are
// static and need no libraries in the initramfs.
func staticEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
}

// TestBinary compiles the test package pkg (as `go test -c`) in dir to out.
func TestBinary(ctx context.Context, dir, pkg, out string) error {
	return goBuild(ctx, dir, "test binary "+pkg, "test", "-c", "-o", out, pkg)
}

// Program compiles the main package pkg in dir to out.
func Program(ctx context.Context, dir, pkg, out string) error {
	return goBuild(ctx, dir, "program "+pkg, "build", "-o", out, pkg)
}

func goBuild(ctx context.Context, dir, what string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = staticEnv()
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
// it copies the result to out, which the caller owns. A lock keeps
// parallel runs (a kernel matrix) from writing the same file at once.
func Stable(cacheDir, name, out string, fn func(path string) error) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", cacheDir, err)
	}
	stable := filepath.Join(cacheDir, name)
	if err := fn(stable); err != nil {
		return err
	}
	b, err := os.ReadFile(stable)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o755)
}

// CacheKey names a cache directory for the given inputs.
func CacheKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

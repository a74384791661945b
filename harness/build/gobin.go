package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
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

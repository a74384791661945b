// SPDX-License-Identifier: MIT

package initramfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cnvmtest/cnvmtest/internal/flock"
	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"
)

// BaseCommands are the u-root commands in the base image: init, a shell and
// the few tools a person wants in `make vmshell`. Their versions are pinned
// by the tool lines of go.mod, so the base is rebuilt only when go.mod or Go
// changes.
var BaseCommands = []string{
	"init", "gosh", "ls", "cat", "dmesg", "insmod", "rmmod", "lsmod",
	"mount", "ps", "poweroff", "echo", "mkdir", "grep", "uname", "sleep",
	"cp", "rm",
}

// Base builds the u-root base image (u-root's init plus BaseCommands, as one
// busybox binary, for linux/goarch) into dir, or reuses the copy built
// earlier from the same inputs. moduleDir is the root of the Go module
// whose go.mod pins u-root.
//
// gobusybox recompiles the standard library on every build (tens of
// seconds), which is why the result is cached: a run only appends an overlay.
func Base(ctx context.Context, dir, moduleDir, goarch string, log io.Writer) (string, error) {
	key, err := baseKey(moduleDir, goarch)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "base-"+key+".cpio")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("initramfs base: %w", err)
	}
	// Parallel runs (a kernel matrix) build the base once: the first
	// builds, the others wait and reuse it.
	unlock, err := flock.Lock(ctx, filepath.Join(dir, "base.lock"), true, nil)
	if err != nil {
		return "", fmt.Errorf("initramfs base: locking: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	fmt.Fprintf(log, "initramfs: building the u-root base image for %s (once; about 30 s)\n", goarch)
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("initramfs base: %w", err)
	}
	defer os.RemoveAll(tmp)

	pkgs := make([]string, len(BaseCommands))
	for i, c := range BaseCommands {
		pkgs[i] = "github.com/u-root/u-root/cmds/core/" + c
	}
	env := golang.Default(golang.DisableCGO(), golang.WithGOARCH(goarch),
		golang.WithGOOS("linux"), golang.WithWorkingDir(moduleDir))
	partial := filepath.Join(tmp, "base.cpio")
	l := llog.New(slog.LevelWarn, func(format string, args ...any) {
		fmt.Fprintf(log, "mkuimage: "+format+"\n", args...)
	})
	err = uimage.Create(l,
		uimage.WithReplaceEnv(env),
		uimage.WithBaseArchive(uimage.DefaultRamfs()),
		uimage.WithBusyboxCommands(pkgs...),
		uimage.WithInit("init"),
		uimage.WithShell("gosh"),
		uimage.WithTempDir(tmp),
		uimage.WithCPIOOutput(partial),
	)
	if err != nil {
		return "", fmt.Errorf("initramfs base: building u-root with mkuimage: %w", err)
	}
	// Rename last so that a crash never leaves a half-written base behind.
	if err := os.Rename(partial, out); err != nil {
		return "", fmt.Errorf("initramfs base: %w", err)
	}
	return out, nil
}

// baseKey hashes what the base image is built from: the module's go.mod and
// go.sum (u-root's version), the Go toolchain, the command list and the
// architecture.
func baseKey(moduleDir, goarch string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(moduleDir, name))
		if err != nil {
			return "", fmt.Errorf("initramfs base: %w", err)
		}
		h.Write(b)
	}
	fmt.Fprintf(h, "%s\n%s\n", runtime.Version(), strings.Join(BaseCommands, " "))
	if goarch != "amd64" {
		// amd64's key stays what it was, so its cached base is kept.
		fmt.Fprintf(h, "GOARCH=%s\n", goarch)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An s390x image package is read past boot/ for virtio_console, and only
// that module of all of them is unpacked.
func TestExtractTarKeepsPortModules(t *testing.T) {
	dir, root := tempRoot(t)
	keep := keptModules(S390x)
	if len(keep) == 0 {
		t.Fatal("no modules kept for s390x")
	}
	err := extractTar(tarOf(t,
		&tar.Header{Name: "./boot/vmlinuz-x", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./lib/modules/x/kernel/drivers/char/virtio_console.ko.xz", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./lib/modules/x/kernel/drivers/char/hw_random/virtio-rng.ko.xz", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./lib/modules/x/kernel/fs/9p/9p.ko", Typeflag: tar.TypeReg, Mode: 0o644},
	), root, "", keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lib/modules/x/kernel/drivers/char/virtio_console.ko.xz")); err != nil {
		t.Errorf("virtio_console not kept: %v", err)
	}
	for _, skipped := range []string{"lib/modules/x/kernel/drivers/char/hw_random", "lib/modules/x/kernel/fs"} {
		if _, err := os.Stat(filepath.Join(dir, skipped)); err == nil {
			t.Errorf("%s unpacked", skipped)
		}
	}
	if keptModules(HostArch) != nil || kept("lib/modules/x/kernel/drivers/char/virtio_console.ko", nil) {
		t.Error("amd64 keeps modules")
	}
}

func TestFindPortModules(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Fatalf("xz, which make deps installs: %v", err)
	}
	ctx := context.Background()
	root := t.TempDir()
	config := filepath.Join(root, "config")
	mods := filepath.Join(root, "lib/modules/6.12.95+deb12-s390x/kernel/drivers/char")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	ko := filepath.Join(mods, "virtio_console.ko")
	if err := os.WriteFile(ko, []byte("\x7fELF module"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xz", ko).CombinedOutput(); err != nil {
		t.Fatalf("xz: %v: %s", err, out)
	}
	k := &Kernel{Arch: S390x, Release: "6.12.95+deb12-s390x", Config: config}

	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(config, []byte("#\n"+s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("CONFIG_VIRTIO_CONSOLE=m")
	if err := findPortModules(ctx, k, root); err != nil {
		t.Fatal(err)
	}
	if len(k.PortModules) != 1 || k.PortModules[0] != ko {
		t.Fatalf("PortModules = %q, want [%s]", k.PortModules, ko)
	}
	if b, err := os.ReadFile(ko); err != nil || string(b) != "\x7fELF module" {
		t.Errorf("decompressed module = %q, %v", b, err)
	}

	k.PortModules = nil
	write("CONFIG_VIRTIO_CONSOLE=y")
	if err := findPortModules(ctx, k, root); err != nil || k.PortModules != nil {
		t.Errorf("built-in driver: PortModules %q, %v; want none", k.PortModules, err)
	}
	write("# CONFIG_VIRTIO_CONSOLE is not set")
	if err := findPortModules(ctx, k, root); err == nil || !strings.Contains(err.Error(), "no CONFIG_VIRTIO_CONSOLE") {
		t.Errorf("kernel without the driver: %v, want an error naming CONFIG_VIRTIO_CONSOLE", err)
	}
	write("CONFIG_VIRTIO_CONSOLE=m")
	if err := findPortModules(ctx, &Kernel{Arch: S390x, Release: "6.1.0-50-s390x", Config: config}, root); err == nil {
		t.Error("a missing module is not an error")
	}
	amd := &Kernel{Release: "6.1.0-57-amd64", Config: "/nonexistent"}
	if err := findPortModules(ctx, amd, root); err != nil || amd.PortModules != nil {
		t.Errorf("amd64: %q, %v; want nothing", amd.PortModules, err)
	}
}

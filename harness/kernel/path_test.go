// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux/vmlinuxtest"
)

func TestGetPath(t *testing.T) {
	dir := t.TempDir()
	kdir := filepath.Join(dir, "linux")
	writeFiles(t, kdir, map[string]string{
		"Makefile":                      "all:\n",
		".config":                       "CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"\n",
		"Module.symvers":                "",
		"System.map":                    "",
		"include/config/kernel.release": "6.13.0-rc1+\n",
	})
	images := map[string][]byte{
		"vmlinux":       vmlinuxtest.FakeELF(true),
		"vmlinux-nopvh": vmlinuxtest.FakeELF(false),
		"bzImage":       vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(vmlinuxtest.Gzip(vmlinuxtest.FakeELF(true)), 100)),
		"junk":          []byte("not a kernel at all, not at all"),
	}
	for name, b := range images {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &Store{Dir: t.TempDir()}
	get := func(image, kdir string) (*Kernel, error) {
		return s.Get(context.Background(), mustSpec(t, "path:"+image+","+kdir), nil)
	}

	k, err := get(filepath.Join(dir, "vmlinux"), kdir)
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "6.13.0-rc1+" || k.Image != filepath.Join(dir, "vmlinux") || !k.PVH || k.BuildDir != kdir ||
		k.CC != "gcc (Debian 12.2.0-14) 12.2.0" || k.SystemMap == "" || k.Source != "path" || k.Dir != "" {
		t.Errorf("unexpected kernel %+v", k)
	}
	if k.Spec != "path:"+filepath.Join(dir, "vmlinux")+","+kdir {
		t.Errorf("Spec = %q", k.Spec)
	}
	if ks, _ := s.List(); len(ks) != 0 {
		t.Errorf("a path: kernel was stored: %v", ks)
	}

	k, err = get(filepath.Join(dir, "bzImage"), kdir)
	if err != nil || k.Image != k.BzImage || k.PVH || k.ImageFallback == "" {
		t.Errorf("path: with a bzImage = %+v, %v", k, err)
	}

	// Relative paths are made absolute.
	t.Chdir(dir)
	if k, err := get("vmlinux", "linux"); err != nil || k.Image != filepath.Join(dir, "vmlinux") || k.BuildDir != kdir {
		t.Errorf("relative path: = %+v, %v", k, err)
	}

	for _, tt := range []struct{ name, image, kdir, err string }{
		{"no image", "missing", kdir, "no such file"},
		{"no PVH", "vmlinux-nopvh", kdir, "without a PVH entry note"},
		{"junk", "junk", kdir, "neither an ELF vmlinux nor a bzImage"},
		{"no kdir", "vmlinux", "nowhere", "kbuild tree " + filepath.Join(dir, "nowhere") + ": not a directory"},
		{"kdir is a file", "vmlinux", "junk", "not a directory"},
		{"unprepared kdir", "vmlinux", ".", "run make modules_prepare"},
	} {
		if _, err := get(tt.image, tt.kdir); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: Get = %v, want an error containing %q", tt.name, err, tt.err)
		}
	}
	os.Remove(filepath.Join(kdir, "Module.symvers"))
	if _, err := get("vmlinux", "linux"); err == nil || !strings.Contains(err.Error(), "no Module.symvers") {
		t.Errorf("kdir without Module.symvers: %v", err)
	}
}

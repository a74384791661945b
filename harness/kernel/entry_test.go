// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeBuild lays out a minimal entry in root, as build would.
func fakeBuild(t *testing.T, root, release, version string) *Kernel {
	t.Helper()
	files := map[string]string{
		"boot/vmlinuz-" + release: "bzImage",
		"vmlinux":                 "\x7fELF vmlinux",
		"boot/config-" + release:  "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n",
		"usr/src/linux-headers-" + release + "/Makefile": "all:\n",
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Kernel{
		Release: release, PackageVersion: version,
		Packages: []Package{{Name: "linux-image-" + release + "-unsigned", Version: version, Size: 7}},
		Suites:   []string{"bookworm-security"},
		Image:    filepath.Join(root, "vmlinux"), Vmlinux: filepath.Join(root, "vmlinux"), PVH: true,
		BzImage:  filepath.Join(root, "boot/vmlinuz-"+release),
		Config:   filepath.Join(root, "boot/config-"+release),
		BuildDir: filepath.Join(root, "usr/src/linux-headers-"+release),
		CC:       "gcc-12 (Debian 12.2.0-14) 12.2.0",
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "6.1.0-57-amd64@6.1.192-3")
	want := fakeBuild(t, dir, "6.1.0-57-amd64", "6.1.192-3")
	if err := writeManifest(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := load(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	want.Dir, want.Key, want.Source = dir, filepath.Base(dir), "debian"
	want.CompilerMismatch = got.CompilerMismatch // depends on the host
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected kernel (-want +got):\n%s", diff)
	}
	b, _ := os.ReadFile(filepath.Join(dir, manifestName))
	if strings.Contains(string(b), dir) {
		t.Errorf("manifest holds absolute paths:\n%s", b)
	}

	// The entry can move, as when a CI cache is restored elsewhere.
	moved := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if got, err := load(moved, true); err != nil || got.Image != filepath.Join(moved, "vmlinux") {
		t.Fatalf("after moving the entry: %v, %+v", err, got)
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		verify bool
		err    string
	}{
		{name: "no manifest", damage: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, manifestName)) }, err: "no such file"},
		{name: "truncated manifest", damage: func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, manifestName))
			os.WriteFile(filepath.Join(dir, manifestName), b[:len(b)/2], 0o644)
		}, err: "invalid cache entry: kernel.json"},
		{name: "other format", damage: func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, manifestName), `"format": 1`, `"format": 99`)
		}, err: "format 99"},
		{name: "wrong directory", damage: func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, manifestName), `"package_version": "6.1.192-3"`, `"package_version": "6.1.192-4"`)
		}, err: "manifest is for 6.1.0-57-amd64@6.1.192-4"},
		{name: "escaping path", damage: func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, manifestName), `"config": "boot/config-6.1.0-57-amd64"`, `"config": "../../etc/passwd"`)
		}, err: "outside the entry"},
		{name: "missing file", damage: func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "usr")) }, err: "no such file"},
		{name: "changed image", verify: true, damage: func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "vmlinux"), []byte("\x7fELF truncat"), 0o644)
		}, err: "has sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "6.1.0-57-amd64@6.1.192-3")
			if err := writeManifest(dir, fakeBuild(t, dir, "6.1.0-57-amd64", "6.1.192-3")); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)
			if _, err := load(dir, tt.verify); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("load = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

func rewrite(t *testing.T, name, old, new string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil || !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q (%v):\n%s", name, old, err, b)
	}
	if err := os.WriteFile(name, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnsure(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	p := newProgress(nil, Spec{Source: "debian", Series: "6.1"})
	const key = "6.1.0-57-amd64@6.1.192-3"
	var builds atomic.Int32
	build := func(root string) (*Kernel, error) {
		builds.Add(1)
		// Long enough for the others to find the lock taken.
		time.Sleep(100 * time.Millisecond)
		return fakeBuild(t, root, "6.1.0-57-amd64", "6.1.192-3"), nil
	}

	// Concurrent callers build once and all get the entry.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			k, err := s.ensure(context.Background(), key, p, build)
			if err == nil && k.Dir != filepath.Join(s.Dir, "kernels", key) {
				err = errors.New("wrong entry " + k.Dir)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("built %d times, want once", n)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d leftovers", len(left))
	}

	// A damaged entry is rebuilt; a failed build leaves nothing behind.
	os.WriteFile(filepath.Join(s.Dir, "kernels", key, "vmlinux"), []byte("damaged"), 0o644)
	if _, err := s.ensure(context.Background(), key, p, func(string) (*Kernel, error) { return nil, errors.New("offline") }); err == nil || err.Error() != "offline" {
		t.Fatalf("ensure with a failing build = %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "tmp")); len(left) != 0 {
		t.Errorf("a failed build left %d directories in tmp", len(left))
	}
	if _, err := s.ensure(context.Background(), key, p, build); err != nil {
		t.Fatal(err)
	}
	if n := builds.Load(); n != 2 {
		t.Fatalf("built %d times, want twice", n)
	}
	ks, err := s.List()
	if err != nil || len(ks) != 1 || ks[0].Release != "6.1.0-57-amd64" {
		t.Fatalf("List = %v, %v", ks, err)
	}
}

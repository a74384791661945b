// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux/vmlinuxtest"
)

const (
	fakeRelease = "6.1.0-57-amd64"
	fakeVersion = "6.1.192-3"
)

// fakeDebs builds, with dpkg-deb, stand-ins for the four packages of
// 6.1.0-57: a bzImage holding a PVH ELF, a module that must not be
// unpacked, and headers laid out as Debian's, absolute paths included. The
// common Makefile's "modules" target prints where make found it.
func fakeDebs(t *testing.T) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	vmlinux := vmlinuxtest.FakeELF(true)
	hdr, common := "usr/src/linux-headers-6.1.0-57-amd64/", "usr/src/linux-headers-6.1.0-57-common/"
	type file struct{ name, data, link string }
	pkgs := map[string][]file{
		"linux-image-6.1.0-57-amd64-unsigned": {
			{name: "boot/vmlinuz-" + fakeRelease, data: string(vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(vmlinuxtest.Gzip(vmlinux), len(vmlinux))))},
			{name: "boot/config-" + fakeRelease, data: "CONFIG_PVH=y\nCONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\n"},
			{name: "boot/System.map-" + fakeRelease, data: "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"},
			{name: "lib/modules/" + fakeRelease + "/kernel/fs/9p/9p.ko", data: "module"},
			{name: "lib/modules/" + fakeRelease + "/modules.builtin", data: "kernel/drivers/connector/cn.ko\n"},
			{name: "usr/share/doc/linux-image-6.1.0-57-amd64-unsigned/changelog.gz", data: "docs"},
		},
		"linux-headers-6.1.0-57-amd64": {
			{name: hdr + "Makefile", data: "include /usr/src/linux-headers-6.1.0-57-common/Makefile\n"},
			{name: hdr + ".config", data: "CONFIG_MODULES=y\n"},
			{name: hdr + "Module.symvers", data: ""},
			{name: hdr + "scripts", link: "../../lib/linux-kbuild-6.1/scripts"},
			{name: hdr + "tools", link: "../../lib/linux-kbuild-6.1/tools"},
			{name: "lib/modules/" + fakeRelease + "/build", link: "/usr/src/linux-headers-6.1.0-57-amd64"},
		},
		"linux-headers-6.1.0-57-common": {
			{name: common + "Makefile", data: "modules:\n\t@echo built in $(CURDIR) with $(lastword $(MAKEFILE_LIST))\n"},
			{name: common + "scripts", link: "../../lib/linux-kbuild-6.1/scripts"},
		},
		"linux-kbuild-6.1": {
			{name: "usr/lib/linux-kbuild-6.1/scripts/basic/fixdep", data: "#!/bin/sh\n"},
			{name: "usr/lib/linux-kbuild-6.1/tools/objtool/objtool", data: "#!/bin/sh\n"},
			{name: "usr/src/linux-kbuild-6.1", link: "../lib/linux-kbuild-6.1"},
		},
	}
	out := t.TempDir()
	debs := map[string]string{}
	for pkg, files := range pkgs {
		root := filepath.Join(t.TempDir(), pkg)
		for _, f := range append(files, file{name: "DEBIAN/control", data: fmt.Sprintf(
			"Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: test <t@example.org>\nDescription: stand-in\n", pkg, fakeVersion)}) {
			p := filepath.Join(root, f.name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			var err error
			if f.link != "" {
				err = os.Symlink(f.link, p)
			} else {
				err = os.WriteFile(p, []byte(f.data), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		deb := filepath.Join(out, pkg+"_"+fakeVersion+"_amd64.deb")
		if b, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, deb).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb --build: %v\n%s", err, b)
		}
		debs[pkg+"="+fakeVersion] = deb
	}
	return debs
}

// fakeStore returns a store whose apt is fakeApt, downloading fakeDebs.
func fakeStore(t *testing.T) (*Store, *fakeApt) {
	t.Helper()
	debs := fakeDebs(t)
	f := &fakeApt{download: func(dir string, pkgs []string) error {
		for _, p := range pkgs {
			deb, ok := debs[p]
			if !ok {
				return fmt.Errorf("E: Can't find a source to download version of %s", p)
			}
			b, err := os.ReadFile(deb)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, filepath.Base(deb)), b, 0o644)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}}
	return &Store{Dir: t.TempDir(), run: f.run}, f
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func mustSpec(t *testing.T, s string) Spec {
	t.Helper()
	spec, err := ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestGet(t *testing.T) {
	s, f := fakeStore(t)
	ctx := context.Background()
	k, err := s.Get(ctx, mustSpec(t, "debian:6.1"), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apt-get update", "apt-cache pkgnames", "apt-cache madison", "apt-cache show", "apt-cache madison", "apt-cache show", "apt-get download"}
	if diff := cmp.Diff(want, f.ran()); diff != "" {
		t.Errorf("unexpected commands for a cold Get (-want +got):\n%s", diff)
	}
	dir := filepath.Join(s.Dir, "kernels", fakeRelease+"@"+fakeVersion)
	wantK := &Kernel{
		Spec: "debian:6.1", Source: "debian", Key: fakeRelease + "@" + fakeVersion,
		Release: fakeRelease, PackageVersion: fakeVersion, Dir: dir,
		Suites: []string{"bookworm-security"},
		Image:  filepath.Join(dir, "vmlinux"), Vmlinux: filepath.Join(dir, "vmlinux"), PVH: true,
		BzImage: filepath.Join(dir, "boot/vmlinuz-"+fakeRelease),
		Config:  filepath.Join(dir, "boot/config-"+fakeRelease),
		// Debian's System.map is a placeholder.
		BuildDir: filepath.Join(dir, "usr/src/linux-headers-"+fakeRelease),
		CC:       "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
	}
	if diff := cmp.Diff(wantK, k, cmpIgnore("Packages", "CompilerMismatch", "ModuleCC", "LastUsed")); diff != "" {
		t.Errorf("unexpected kernel (-want +got):\n%s", diff)
	}
	if len(k.Packages) != 4 {
		t.Errorf("Packages = %v, want 4", k.Packages)
	}

	// What the entry must and must not hold.
	for name, want := range map[string]bool{
		"lib/modules/" + fakeRelease + "/kernel":                    false,
		"usr/share":                                                 false,
		"lib/modules/" + fakeRelease + "/modules.builtin":           false, // after boot/ in the image
		"lib/modules/" + fakeRelease + "/build/Makefile":            true,  // a relative symlink now
		"usr/src/linux-headers-6.1.0-57-amd64/scripts/basic/fixdep": true,
		"usr/src/linux-kbuild-6.1/tools/objtool/objtool":            true,
	} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: exists = %v, want %v", name, err == nil, want)
		}
	}
	if target, _ := os.Readlink(filepath.Join(dir, "lib/modules", fakeRelease, "build")); filepath.IsAbs(target) {
		t.Errorf("build symlink is absolute: %s", target)
	}
	if _, err := exec.LookPath("make"); err == nil {
		out, err := exec.Command("make", "-C", k.BuildDir, "modules").CombinedOutput()
		if want := "built in " + k.BuildDir + " with " + filepath.Join(dir, "usr/src/linux-headers-6.1.0-57-common/Makefile"); err != nil || !strings.Contains(string(out), want) {
			t.Errorf("make -C BuildDir modules: %v\n%s\nwant %q", err, out, want)
		}
	}

	// Warm: the lists are fresh and unchanged and the kernel stored, so
	// the answer is cached and apt does not run.
	before := len(f.ran())
	if _, err := s.Get(ctx, mustSpec(t, "debian:6.1"), testLog{t}); err != nil {
		t.Fatal(err)
	}
	if ran := f.ran()[before:]; len(ran) != 0 {
		t.Errorf("a warm Get ran %v, want nothing", ran)
	}

	// An exact spec in the store needs no apt at all.
	before = len(f.ran())
	for _, exact := range []string{"debian:6.1.0-57", "debian:6.1.192-3"} {
		if k, err := s.Get(ctx, mustSpec(t, exact), testLog{t}); err != nil || k.Release != fakeRelease {
			t.Fatalf("Get(%s) = %v, %v", exact, k, err)
		}
	}
	if ran := f.ran()[before:]; len(ran) != 0 {
		t.Errorf("exact specs ran %v", ran)
	}
}

func cmpIgnore(fields ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		return slices.Contains(fields, p.Last().String()[1:])
	}, cmp.Ignore())
}

func TestGetRefreshes(t *testing.T) {
	ctx := context.Background()
	spec := mustSpec(t, "debian:6.1")

	t.Run("stale lists", func(t *testing.T) {
		s, f := fakeStore(t)
		if _, err := s.Get(ctx, spec, testLog{t}); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * maxListAge)
		os.Chtimes(filepath.Join(s.Dir, "apt", "updated"), old, old)
		before := len(f.ran())
		if _, err := s.Get(ctx, spec, testLog{t}); err != nil {
			t.Fatal(err)
		}
		if ran := f.ran()[before:]; ran[0] != "apt-get update" || slices.Contains(ran, "apt-get download") {
			t.Errorf("with stale lists Get ran %v, want an update and no download", ran)
		}
	})

	t.Run("download fails on fresh lists", func(t *testing.T) {
		s, f := fakeStore(t)
		if err := os.MkdirAll(filepath.Join(s.Dir, "apt"), 0o755); err != nil {
			t.Fatal(err)
		}
		a, _ := s.apt(ctx, HostArch)
		a.update(ctx, newProgress(nil, spec), "test", time.Time{})
		// Fresh, but older than minRetryAge.
		old := time.Now().Add(-time.Hour)
		os.Chtimes(filepath.Join(s.Dir, "apt", "updated"), old, old)
		download := f.download
		failed := false
		f.download = func(dir string, pkgs []string) error {
			if !failed {
				failed = true
				return errors.New("E: Failed to fetch http://deb.debian.org/…: 404  Not Found")
			}
			return download(dir, pkgs)
		}
		before := len(f.ran())
		if _, err := s.Get(ctx, spec, testLog{t}); err != nil {
			t.Fatal(err)
		}
		want := []string{"apt-cache pkgnames", "apt-cache madison", "apt-cache show", "apt-cache madison", "apt-cache show", "apt-get download",
			"apt-get update", "apt-cache pkgnames", "apt-cache madison", "apt-cache show", "apt-cache madison", "apt-cache show", "apt-get download"}
		if diff := cmp.Diff(want, f.ran()[before:]); diff != "" {
			t.Errorf("unexpected commands (-want +got):\n%s", diff)
		}
	})

	t.Run("offline with a stored kernel", func(t *testing.T) {
		s, _ := fakeStore(t)
		if _, err := s.Get(ctx, spec, testLog{t}); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * maxListAge)
		os.Chtimes(filepath.Join(s.Dir, "apt", "updated"), old, old)
		os.RemoveAll(filepath.Join(s.Dir, "apt", "lists"))
		s.run = func(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
			return nil, nil, errors.New("E: Could not resolve 'deb.debian.org'")
		}
		var log bytes.Buffer
		k, err := s.Get(ctx, spec, &log)
		if err != nil || k.Release != fakeRelease {
			t.Fatalf("offline Get = %v, %v", k, err)
		}
		if !strings.Contains(log.String(), "using the stored "+fakeRelease+"@"+fakeVersion+" instead") {
			t.Errorf("offline Get did not say it used the stored kernel:\n%s", &log)
		}
	})

	t.Run("no such kernel", func(t *testing.T) {
		s, f := fakeStore(t)
		_, err := s.Get(ctx, mustSpec(t, "debian:9.9"), nil)
		if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "kernel debian:9.9: resolving: no matching kernel package: no linux-image-9.9* package") {
			t.Fatalf("Get(debian:9.9) = %v", err)
		}
		// Lists were just updated, so no second update.
		if n := strings.Count(strings.Join(f.ran(), ","), "apt-get update"); n != 1 {
			t.Errorf("ran apt-get update %d times, want once", n)
		}
		// With hour-old lists a failure refreshes them once.
		old := time.Now().Add(-time.Hour)
		os.Chtimes(filepath.Join(s.Dir, "apt", "updated"), old, old)
		before := len(f.ran())
		if _, err := s.Get(ctx, mustSpec(t, "debian:9.9"), nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(debian:9.9) = %v", err)
		}
		if n := strings.Count(strings.Join(f.ran()[before:], ","), "apt-get update"); n != 1 {
			t.Errorf("with hour-old lists ran apt-get update %d times, want once", n)
		}
	})
}

func TestGetConcurrent(t *testing.T) {
	s, f := fakeStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.Get(context.Background(), mustSpec(t, "debian:6.1"), testLog{t})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ran := strings.Join(f.ran(), ",")
	if n := strings.Count(ran, "apt-get download"); n != 1 {
		t.Errorf("downloaded %d times, want once", n)
	}
	if n := strings.Count(ran, "apt-get update"); n != 1 {
		t.Errorf("updated %d times, want once", n)
	}
}

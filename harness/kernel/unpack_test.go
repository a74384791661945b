// SPDX-License-Identifier: MIT

package kernel

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tarOf(t *testing.T, hdrs ...*tar.Header) *tar.Reader {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, h := range hdrs {
		h.ModTime = time.Unix(1700000000, 0)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write([]byte(h.Name))
		}
	}
	w.Close()
	return tar.NewReader(&b)
}

// tempRoot opens a temporary directory as an os.Root, closed at the end of
// the test.
func tempRoot(t *testing.T) (string, *os.Root) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return dir, root
}

func TestExtractTar(t *testing.T) {
	dir, root := tempRoot(t)
	err := extractTar(tarOf(t,
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "./boot/vmlinuz-x", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./usr/lib/linux-kbuild-6.1/scripts/basic/fixdep", Typeflag: tar.TypeReg, Mode: 0o755},
		&tar.Header{Name: "./lib/modules/x/kernel/fs/9p.ko", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./usr/share/doc/x/copyright", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./lib/modules/x/build", Typeflag: tar.TypeSymlink, Linkname: "/usr/src/linux-headers-x"},
		&tar.Header{Name: "./usr/src/linux-kbuild-6.1", Typeflag: tar.TypeSymlink, Linkname: "../lib/linux-kbuild-6.1"},
		&tar.Header{Name: "./boot/vmlinuz-link", Typeflag: tar.TypeLink, Linkname: "./boot/vmlinuz-x"},
	), root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"boot/vmlinuz-x":    "./boot/vmlinuz-x",
		"boot/vmlinuz-link": "./boot/vmlinuz-x",
		"usr/src/linux-kbuild-6.1/scripts/basic/fixdep": "./usr/lib/linux-kbuild-6.1/scripts/basic/fixdep",
	} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "usr/lib/linux-kbuild-6.1/scripts/basic/fixdep")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("fixdep lost its mode: %v %v", fi.Mode(), err)
	}
	for _, gone := range []string{"lib/modules/x/kernel", "usr/share"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s was unpacked", gone)
		}
	}
	if l, _ := os.Readlink(filepath.Join(dir, "lib/modules/x/build")); l != "../../../usr/src/linux-headers-x" {
		t.Errorf("build -> %q, want a relative link", l)
	}

	for _, h := range []*tar.Header{
		{Name: "../escape", Typeflag: tar.TypeReg},
		{Name: "./usr/../../escape", Typeflag: tar.TypeReg},
		{Name: "./hard", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
	} {
		err := extractTar(tarOf(t, h), root, "", nil)
		if err == nil || !strings.Contains(err.Error(), "outside the package root") {
			t.Errorf("extracting %q -> %q: %v, want a refusal", h.Name, h.Linkname, err)
		}
	}
	// A symlink may point anywhere, but nothing is written through it.
	err = extractTar(tarOf(t,
		&tar.Header{Name: "./evil", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
		&tar.Header{Name: "./evil/cnvmtest-escaped", Typeflag: tar.TypeReg, Mode: 0o644},
	), root, "", nil)
	if err == nil {
		t.Error("wrote through a symlink leaving the root")
	}
	if _, err := os.Stat("/tmp/cnvmtest-escaped"); err == nil {
		t.Error("/tmp/cnvmtest-escaped was written")
	}
}

func TestExtractTarOnly(t *testing.T) {
	dir, root := tempRoot(t)
	err := extractTar(tarOf(t,
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "./boot/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "./boot/vmlinuz-x", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./boot/config-x", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./lib/modules/x/modules.builtin", Typeflag: tar.TypeReg, Mode: 0o644},
	), root, "boot/", nil)
	if !errors.Is(err, errDone) {
		t.Fatalf("extractTar = %v, want errDone after boot/", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "boot/config-x")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lib")); err == nil {
		t.Error("extracted past boot/")
	}
}

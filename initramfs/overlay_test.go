// SPDX-License-Identifier: MIT

package initramfs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/u-root/mkuimage/cpio"
)

// readArchive reads one newc archive and returns name -> record.
func readArchive(t *testing.T, b []byte) map[string]cpio.Record {
	t.Helper()
	recs := map[string]cpio.Record{}
	rr := cpio.Newc.Reader(bytes.NewReader(b))
	for {
		rec, err := rr.ReadRecord()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("reading the overlay: %v", err)
		}
		recs[rec.Name] = rec
	}
}

func TestWriteAppendsOverlayToBase(t *testing.T) {
	dir := t.TempDir()
	var base bytes.Buffer
	bw := cpio.Newc.Writer(&base)
	if err := cpio.WriteRecords(bw, []cpio.Record{
		cpio.Directory("bin", 0o755),
		cpio.StaticFile("bin/init", "base init", 0o755),
	}); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(bw); err != nil {
		t.Fatal(err)
	}
	basePath := filepath.Join(dir, "base.cpio")
	os.WriteFile(basePath, base.Bytes(), 0o644)
	runner := filepath.Join(dir, "runner")
	os.WriteFile(runner, []byte("#runner"), 0o644)

	out := filepath.Join(dir, "img.cpio")
	err := Write(out, basePath, []File{
		{Name: "bin/uinit", Source: runner},
		{Name: "cnvm/sub/run.json", Data: []byte(`{}`)},
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, _ := os.ReadFile(out)
	if !bytes.HasPrefix(b, base.Bytes()) {
		t.Fatalf("image does not start with the base archive")
	}
	recs := readArchive(t, b[base.Len():])
	if _, ok := recs["bin/init"]; ok {
		t.Errorf("overlay repeats the base's files")
	}
	got := map[string]string{}
	for name, r := range recs {
		kind := "dir"
		if r.Mode&cpio.S_IFMT == cpio.S_IFREG {
			data, _ := io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
			kind = string(data)
		}
		got[name] = kind
	}
	want := map[string]string{
		"bin":               "dir",
		"bin/uinit":         "#runner",
		"cnvm":              "dir",
		"cnvm/sub":          "dir",
		"cnvm/sub/run.json": "{}",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected files (-want +got):\n%s", diff)
	}
	if m := recs["bin/uinit"].Mode & 0o777; m != 0o755 {
		t.Errorf("bin/uinit mode %o, want 755", m)
	}
	if m := recs["cnvm/sub/run.json"].Mode & 0o777; m != 0o644 {
		t.Errorf("run.json mode %o, want 644", m)
	}
}

func TestWriteMissingSourceLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "img.cpio")
	err := Write(out, "", []File{{Name: "bin/uinit", Source: filepath.Join(dir, "missing")}})
	if err == nil {
		t.Fatal("Write with a missing source succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("Write left %d files behind after failing", len(entries))
	}
}

func TestWriteWithoutBaseStartsWithSkeleton(t *testing.T) {
	dir := t.TempDir()
	runner := filepath.Join(dir, "runner")
	os.WriteFile(runner, []byte("#runner"), 0o644)
	out := filepath.Join(dir, "img.cpio")
	if err := Write(out, "", []File{
		{Name: "init", Source: runner},
		{Name: "tmp/x", Data: []byte("x")},
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readArchive(t, b)
	con, ok := recs["dev/console"]
	if !ok {
		t.Fatal("no dev/console: the kernel would start init without a console")
	}
	if con.Mode&cpio.S_IFMT != cpio.S_IFCHR || con.Rmajor != 5 || con.Rminor != 1 {
		t.Errorf("dev/console mode %o dev %d:%d, want a character device 5:1", con.Mode, con.Rmajor, con.Rminor)
	}
	for _, d := range []string{"proc", "sys", "tmp"} {
		if r, ok := recs[d]; !ok || r.Mode&cpio.S_IFMT != cpio.S_IFDIR {
			t.Errorf("no directory %s in the skeleton", d)
		}
	}
	if m := recs["tmp"].Mode & 0o7777; m != 0o1777 {
		t.Errorf("tmp mode %o, want 1777 (not changed by the file under it)", m)
	}
	if got := recs["init"].Mode & 0o777; got != 0o755 {
		t.Errorf("init mode %o, want 755", got)
	}
}

func TestWriteLink(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "img.cpio")
	if err := Write(out, "", []File{
		{Name: "cnvm/tests.test", Data: []byte("#tests")},
		{Name: "init", Link: "cnvm/tests.test"},
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := readArchive(t, b)["init"]
	if !ok {
		t.Fatal("no init in the image")
	}
	target, _ := io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
	if r.Mode&cpio.S_IFMT != cpio.S_IFLNK || string(target) != "cnvm/tests.test" {
		t.Errorf("init is mode %o to %q, want a symbolic link to cnvm/tests.test", r.Mode, target)
	}
	a, _ := imageKey("", []File{{Name: "init", Link: "cnvm/tests.test"}})
	c, _ := imageKey("", []File{{Name: "init", Link: "cnvm/other.test"}})
	if a == c {
		t.Error("two images whose links differ have the same key")
	}
}

func TestBaseKeyNamesTheArchitecture(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "go.sum"), nil, 0o644)
	amd, err1 := baseKey(dir, "amd64")
	arm, err2 := baseKey(dir, "arm64")
	if err1 != nil || err2 != nil || amd == arm {
		t.Errorf("base keys for amd64 and arm64: %q (%v), %q (%v)", amd, err1, arm, err2)
	}
}

// The same image asked for again is a link to the one kept; anything that
// goes into it changed makes a new one, with the new contents.
func TestWriteCached(t *testing.T) {
	dir, cache := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	bin := filepath.Join(dir, "tests.test")
	if err := os.WriteFile(bin, []byte("binary one"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := func(cfg string) []File {
		return []File{{Name: "cnvm/tests.test", Source: bin}, {Name: "cnvm/run.json", Data: []byte(cfg)}}
	}
	write := func(name, cfg string) (string, []byte) {
		t.Helper()
		out := filepath.Join(dir, name)
		if err := WriteCached(out, "", files(cfg), cache, 2); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return out, b
	}
	same := func(a, b string) bool {
		ia, _ := os.Stat(a)
		ib, _ := os.Stat(b)
		return os.SameFile(ia, ib)
	}

	first, img := write("1.cpio", `{"a":1}`)
	plain := filepath.Join(dir, "plain.cpio")
	if err := Write(plain, "", files(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(plain); !bytes.Equal(img, want) {
		t.Error("WriteCached wrote another image than Write")
	}
	second, _ := write("2.cpio", `{"a":1}`)
	if !same(first, second) {
		t.Error("the same image again was written, not linked")
	}
	third, _ := write("3.cpio", `{"a":2}`)
	if same(first, third) {
		t.Error("another configuration got the same image")
	}
	// A rebuilt binary is a new file (harness/build.Stable): a new image
	// with its contents.
	os.Remove(bin)
	if err := os.WriteFile(bin, []byte("binary two"), 0o755); err != nil {
		t.Fatal(err)
	}
	fourth, img4 := write("4.cpio", `{"a":1}`)
	if same(first, fourth) || !bytes.Contains(img4, []byte("binary two")) {
		t.Error("a rebuilt source did not make a new image")
	}
	// Two kept: the first image's is gone, the runs' own names stay.
	if ents, _ := os.ReadDir(cache); len(ents) != 2 {
		t.Errorf("%d images kept, want 2", len(ents))
	}
	if b, err := os.ReadFile(first); err != nil || !bytes.Equal(b, img) {
		t.Errorf("the first run's image changed or went: %v", err)
	}
}

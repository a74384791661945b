// SPDX-License-Identifier: MIT

package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 100)
	write("sub/b", 20)
	write("sub/deeper/c", 3)
	// A symlink is not followed and does not count.
	if err := os.Symlink("a", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	n, err := DirSize(dir)
	if err != nil || n != 123 {
		t.Fatalf("DirSize = %d, %v; want 123, nil", n, err)
	}
	n, err = DirSize(filepath.Join(dir, "missing"))
	if err == nil || n != 0 {
		t.Fatalf("DirSize of a missing directory = %d, %v; want 0 and an error", n, err)
	}
}

// SPDX-License-Identifier: MIT

package cnvmtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestKmodIsTheDirectory checks that the embedded sources are every file
// of kmod/ the module build reads, byte for byte as in the tree.
func TestKmodIsTheDirectory(t *testing.T) {
	want, _ := filepath.Glob("kmod/*.[ch]")
	want = append(want, "kmod/Kbuild", "kmod/Makefile")
	for _, name := range want {
		got, err := fs.ReadFile(Kmod(), filepath.Base(name))
		if err != nil {
			t.Fatalf("%s not embedded: %v", name, err)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(b) {
			t.Errorf("embedded %s differs from the file", name)
		}
	}
	if h := KmodHash(); len(h) != 16 {
		t.Errorf("KmodHash() = %q", h)
	}
}

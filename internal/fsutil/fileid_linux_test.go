// SPDX-License-Identifier: MIT

package fsutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A new link changes a file's FileID (its change time) but not its
// LinkedFileID; a rewrite changes both.
func TestLinkedFileID(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "binary")
	if err := os.WriteFile(name, []byte("one"), 0o755); err != nil {
		t.Fatal(err)
	}
	id, ok1 := FileID(name)
	linked, ok2 := LinkedFileID(name)
	if !ok1 || !ok2 {
		t.Fatal("no IDs for a regular file")
	}
	time.Sleep(10 * time.Millisecond) // the change time must move on
	if err := os.Link(name, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if again, _ := FileID(name); again == id {
		t.Error("FileID unchanged by a new link")
	}
	if again, _ := LinkedFileID(name); again != linked {
		t.Errorf("LinkedFileID changed by a new link: %s, was %s", again, linked)
	}
	if err := os.WriteFile(name, []byte("two"), 0o755); err != nil {
		t.Fatal(err)
	}
	if again, _ := LinkedFileID(name); again == linked {
		t.Error("LinkedFileID unchanged by a rewrite")
	}
	if _, ok := LinkedFileID(filepath.Join(dir, "missing")); ok {
		t.Error("an ID for a missing file")
	}
}

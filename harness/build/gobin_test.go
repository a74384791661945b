package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStableBuildsInOnePlaceAndCopies(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	var paths []string
	build := func(p string) error {
		paths = append(paths, p)
		return os.WriteFile(p, []byte("binary"), 0o755)
	}
	for i, out := range []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")} {
		if err := Stable(cache, "tests.test", out, build); err != nil {
			t.Fatalf("Stable #%d: %v", i, err)
		}
		if b, err := os.ReadFile(out); err != nil || string(b) != "binary" {
			t.Fatalf("Stable #%d copied %q, %v", i, b, err)
		}
	}
	if len(paths) != 2 || paths[0] != paths[1] {
		t.Fatalf("builds went to %q, want the same stable path twice", paths)
	}
	if CacheKey("/repo", "./vmtests") == CacheKey("/repo", "./other") {
		t.Errorf("different packages share a cache key")
	}
}

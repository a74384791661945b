// SPDX-License-Identifier: MIT

package build

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStableBuildsInOnePlaceAndCopies(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	var paths []string
	build := func(p string) error {
		paths = append(paths, p)
		return os.WriteFile(p, []byte("binary"), 0o755)
	}
	for i, out := range []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")} {
		if err := Stable(t.Context(), cache, "tests.test", out, "", build); err != nil {
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

func TestStableSkipsTheBuildForTheSameInputs(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n"), 0o644)
	main := filepath.Join(src, "main.go")
	os.WriteFile(main, []byte("package main\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "out"), 0o755)
	skip := []string{filepath.Join(src, "out")}

	cache := filepath.Join(t.TempDir(), "cache")
	builds := 0
	build := func(p string) error {
		builds++
		return os.WriteFile(p, []byte("binary"), 0o755)
	}
	run := func(step string, want int) {
		t.Helper()
		in := Inputs("amd64", []string{src}, skip)
		if in == "" {
			t.Fatalf("%s: no fingerprint for a small tree", step)
		}
		if err := Stable(t.Context(), cache, "tests.test", filepath.Join(t.TempDir(), "out"), in, build); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if builds != want {
			t.Fatalf("%s: %d builds, want %d", step, builds, want)
		}
	}
	run("first", 1)
	run("unchanged", 1)
	os.WriteFile(filepath.Join(src, "out", "run.log"), []byte("x"), 0o644)
	run("output directory changed", 1)
	later := time.Now().Add(time.Second)
	os.WriteFile(main, []byte("package main\n// edited\n"), 0o644)
	os.Chtimes(main, later, later)
	run("source edited", 2)
	run("unchanged again", 2)
	t.Setenv("GOFLAGS", "-tags=other")
	run("other build flags", 3)
	os.Remove(filepath.Join(cache, "tests.test"))
	run("cached binary gone", 4)
}

func TestMemoCallsOncePerInputs(t *testing.T) {
	cache := t.TempDir()
	calls := 0
	fn := func() (string, error) { calls++; return "example.com/x/vmtests", nil }
	for i, in := range []string{"a", "a", "b", ""} {
		v, err := Memo(cache, "importpath", in, fn)
		if err != nil || v != "example.com/x/vmtests" {
			t.Fatalf("Memo #%d = %q, %v", i, v, err)
		}
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3 (a once, b once, no inputs always)", calls)
	}
	fail := errors.New("go list failed")
	if _, err := Memo(cache, "importpath", "c", func() (string, error) { return "", fail }); !errors.Is(err, fail) {
		t.Errorf("Memo hid fn's error: %v", err)
	}
	if _, err := Memo(cache, "importpath", "c", fn); err != nil || calls != 4 {
		t.Errorf("a failed call was remembered (calls %d, err %v)", calls, err)
	}
}

func TestInputsNameTheArchitecture(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n"), 0o644)
	amd, arm := Inputs("amd64", []string{src}, nil), Inputs("arm64", []string{src}, nil)
	if amd == "" || arm == "" || amd == arm {
		t.Errorf("the fingerprints of an amd64 and an arm64 build are %q and %q", amd, arm)
	}
}

// out is a link to the stable binary, and a rebuild that rewrites the
// stable file in place leaves earlier outs as they were.
func TestStableLinksAndKeepsEarlierOutputs(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	dir := t.TempDir()
	version := "one"
	build := func(p string) error { return os.WriteFile(p, []byte(version), 0o755) } // in place
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	if err := Stable(t.Context(), cache, "tests.test", first, "", build); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(first)
	b, _ := os.Stat(filepath.Join(cache, "tests.test"))
	if !os.SameFile(a, b) {
		t.Errorf("out is a copy, want a link to the stable binary")
	}
	version = "two"
	if err := Stable(t.Context(), cache, "tests.test", second, "", build); err != nil {
		t.Fatal(err)
	}
	for out, want := range map[string]string{first: "one", second: "two"} {
		if got, err := os.ReadFile(out); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", filepath.Base(out), got, err, want)
		}
	}
	// An out that exists already is replaced.
	if err := Stable(t.Context(), cache, "tests.test", second, "", build); err != nil {
		t.Errorf("Stable onto an existing out: %v", err)
	}
}

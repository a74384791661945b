// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// storeWith returns a store holding fake Debian entries, one per release.
func storeWith(t *testing.T, releases ...string) *Store {
	t.Helper()
	s := &Store{Dir: t.TempDir()}
	p := newProgress(nil, Spec{Source: "debian", Series: "6.1"})
	for _, rel := range releases {
		key := rel + "@1"
		if _, err := s.ensure(context.Background(), key, p, func(root string) (*Kernel, error) {
			return fakeBuild(t, root, rel, "1"), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func keys(ks []*Kernel) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Key)
	}
	slices.Sort(out)
	return out
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := storeWith(t, "6.1.0-1-amd64", "6.1.0-2-amd64", "6.1.0-3-amd64")
	// 1 was used a week ago, 2 just now, 3 never (it counts from when it
	// was stored: now).
	s.markUsed("kernels/6.1.0-1-amd64@1")
	week := time.Now().Add(-7 * 24 * time.Hour)
	os.Chtimes(filepath.Join(s.Dir, "used/kernels/6.1.0-1-amd64@1"), week, week)
	s.markUsed("kernels/6.1.0-2-amd64@1")

	ks, _ := s.List()
	for _, k := range ks {
		if k.LastUsed.IsZero() {
			t.Errorf("%s: no LastUsed", k.Key)
		}
	}

	// Leftovers: an incomplete entry and a dead build's directory.
	os.MkdirAll(filepath.Join(s.Dir, "kernels", "6.1.0-9-amd64@1"), 0o755)
	os.MkdirAll(filepath.Join(s.Dir, "tmp", "6.1.0-8-amd64@1.12345"), 0o755)

	var log bytes.Buffer
	removed, err := s.Prune(ctx, OlderThan(24*time.Hour), &log)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(removed); !slices.Equal(got, []string{"6.1.0-1-amd64@1"}) {
		t.Errorf("Prune(older than a day) removed %v", got)
	}
	if !strings.Contains(log.String(), "removed the incomplete entry 6.1.0-9-amd64@1") {
		t.Errorf("log:\n%s", &log)
	}
	for _, gone := range []string{"kernels/6.1.0-1-amd64@1", "kernels/6.1.0-9-amd64@1", "tmp/6.1.0-8-amd64@1.12345", "used/kernels/6.1.0-1-amd64@1"} {
		if _, err := os.Stat(filepath.Join(s.Dir, gone)); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d entries", len(left))
	}

	// A kernel in use stays, even with everything pruned.
	ks, _ = s.List()
	release, err := s.Use(ctx, ks[0])
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	removed, err = s.Prune(ctx, func(*Kernel) bool { return false }, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].Key == ks[0].Key {
		t.Errorf("Prune(all) with %s in use removed %v", ks[0].Key, keys(removed))
	}
	if !strings.Contains(log.String(), "skipping "+ks[0].Key+": in use") {
		t.Errorf("log:\n%s", &log)
	}
	release()
	removed, _ = s.Prune(ctx, func(*Kernel) bool { return false }, nil)
	if len(removed) != 1 {
		t.Errorf("Prune(all) after release removed %v", keys(removed))
	}
	if ks, _ := s.List(); len(ks) != 0 {
		t.Errorf("%d kernels left", len(ks))
	}
}

func TestPruneToolchains(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for i, name := range []string{"trixie-gcc-14@20260101", "sid-gcc-16@20261101"} {
		dir := filepath.Join(s.Dir, "toolchains", name)
		suite, compiler, _ := strings.Cut(strings.Split(name, "@")[0], "-")
		writeFiles(t, dir, map[string]string{
			"toolchain.json": `{"name": "` + name + `", "suite": "` + suite + `", "compiler": "` + compiler + `", "version": "1.2.3", "created": "2026-0` + string(rune('1'+i)) + `-01T00:00:00Z"}`,
			"usr/bin/gcc":    "",
		})
	}
	os.MkdirAll(filepath.Join(s.Dir, "toolchains", "broken"), 0o755)
	tcs, err := s.Toolchains()
	if err != nil || len(tcs) != 2 || tcs[0].Name != "sid-gcc-16@20261101" || tcs[1].Suite != "trixie" || tcs[1].Compiler != "gcc-14" {
		t.Fatalf("Toolchains = %+v, %v", tcs, err)
	}
	s.markUsed("toolchains/sid-gcc-16@20261101")
	// A kernel using the trixie root keeps it.
	release, err := s.Use(context.Background(), &Kernel{BuildRoot: filepath.Join(s.Dir, "toolchains", "trixie-gcc-14@20260101")})
	if err != nil {
		t.Fatal(err)
	}
	if removed, _ := s.PruneToolchains(context.Background(), func(*Toolchain) bool { return false }); len(removed) != 1 || removed[0].Suite != "sid" {
		t.Fatalf("PruneToolchains with trixie in use removed %+v", removed)
	}
	release()
	removed, err := s.PruneToolchains(context.Background(), func(tc *Toolchain) bool { return time.Since(tc.LastUsed) < time.Hour })
	if err != nil || len(removed) != 1 || removed[0].Name != "trixie-gcc-14@20260101" {
		t.Fatalf("PruneToolchains = %+v, %v", removed, err)
	}
	if tcs, _ := s.Toolchains(); len(tcs) != 0 {
		t.Errorf("%d build roots left, want none", len(tcs))
	}
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/fsutil"
	"github.com/google/go-cmp/cmp"
)

// resolveStore is a store on fakeArchive whose lists were just updated,
// with one list file as apt-get update would leave it.
func resolveStore(t *testing.T) (*Store, *fakeApt) {
	t.Helper()
	f := &fakeApt{}
	s := &Store{Dir: t.TempDir(), run: f.run}
	a, err := s.apt(context.Background(), HostArch)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.update(context.Background(), newProgress(nil, Spec{}), "test", time.Time{}); err != nil {
		t.Fatal(err)
	}
	writeList(t, s, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", "packages, 1st edition")
	return s, f
}

func writeList(t *testing.T, s *Store, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.Dir, "apt", "lists", name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resolveCounting resolves spec and returns the answer and the apt
// commands it ran.
func resolveCounting(t *testing.T, s *Store, f *fakeApt, spec string) (*Resolved, []string, string) {
	t.Helper()
	before := len(f.ran())
	var log bytes.Buffer
	r, err := s.Resolve(context.Background(), mustSpec(t, spec), &log)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", spec, err)
	}
	return r, f.ran()[before:], log.String()
}

func TestResolveCache(t *testing.T) {
	s, f := resolveStore(t)
	cold, ran, _ := resolveCounting(t, s, f, "debian:6.1")
	if len(ran) == 0 {
		t.Fatal("the first Resolve ran no apt-cache")
	}
	warm, ran, log := resolveCounting(t, s, f, "debian:6.1")
	if len(ran) != 0 {
		t.Errorf("a warm Resolve ran %v, want nothing", ran)
	}
	if diff := cmp.Diff(cold, warm); diff != "" {
		t.Errorf("the cached answer differs (-cold +warm):\n%s", diff)
	}
	if !strings.Contains(log, "resolved to linux-image-6.1.0-57-amd64-unsigned 6.1.192-3") || !strings.Contains(log, "cached") {
		t.Errorf("a warm Resolve said:\n%s", log)
	}

	// Each spec, and each kind of resolution, has its own answer.
	for _, spec := range []string{"debian:6.12", "debian:6.1+deb11", "debian-src:6.12", "debian-src:6.12@debug"} {
		r1, ran1, _ := resolveCounting(t, s, f, spec)
		r2, ran2, _ := resolveCounting(t, s, f, spec)
		if len(ran1) == 0 || len(ran2) != 0 || !cmp.Equal(r1, r2) {
			t.Errorf("%s: ran %v then %v; answers %+v and %+v", spec, ran1, ran2, r1, r2)
		}
	}
	if r, _, _ := resolveCounting(t, s, f, "debian:6.1"); !cmp.Equal(r, cold) {
		t.Errorf("debian:6.1 now resolves to %+v", r)
	}
	if k1, k2 := resolveKey(SourceDebian, mustSpec(t, "debian:6.1"), 12), resolveKey(SourceDebian, mustSpec(t, "debian:6.1"), 14); k1 == k2 {
		t.Errorf("the host's gcc is not part of the key %q", k1)
	}
}

func TestResolveCacheInvalidation(t *testing.T) {
	lists := func(s *Store) string { return filepath.Join(s.Dir, "apt", "lists") }
	const list = "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, s *Store)
	}{
		{"a list replaced", func(t *testing.T, s *Store) {
			// As apt-get update does it: a new file renamed over the old.
			tmp := filepath.Join(lists(s), "partial", list)
			os.WriteFile(tmp, []byte("packages, 2nd edition"), 0o644)
			if err := os.Rename(tmp, filepath.Join(lists(s), list)); err != nil {
				t.Fatal(err)
			}
		}},
		{"a list rewritten in place, same size and mtime", func(t *testing.T, s *Store) {
			name := filepath.Join(lists(s), list)
			fi, _ := os.Stat(name)
			writeList(t, s, list, "packages, 2nd edition")
			os.Chtimes(name, fi.ModTime(), fi.ModTime())
		}},
		{"a list added", func(t *testing.T, s *Store) {
			writeList(t, s, "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages.lz4", "trixie")
		}},
		{"a list removed", func(t *testing.T, s *Store) {
			os.Remove(filepath.Join(lists(s), list))
		}},
		{"the lists updated", func(t *testing.T, s *Store) {
			a, _ := s.apt(context.Background(), HostArch)
			if err := a.update(context.Background(), newProgress(nil, Spec{}), "test", a.listsTime()); err != nil {
				t.Fatal(err)
			}
		}},
		{"another mirror", func(t *testing.T, s *Store) {
			t.Setenv("CNVMTEST_DEBIAN_MIRROR", "http://mirror.example.org")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, f := resolveStore(t)
			resolveCounting(t, s, f, "debian:6.1")
			resolveCounting(t, s, f, "debian-src:6.12")
			time.Sleep(20 * time.Millisecond) // past the file system's clock tick
			tt.change(t, s)
			for _, spec := range []string{"debian:6.1", "debian-src:6.12"} {
				if _, ran, _ := resolveCounting(t, s, f, spec); len(ran) == 0 || ran[len(ran)-1] != "apt-cache show" {
					t.Errorf("%s after the change ran %v, want it resolved again", spec, ran)
				}
				if _, ran, _ := resolveCounting(t, s, f, spec); len(ran) != 0 {
					t.Errorf("%s: the second Resolve after the change ran %v, want the new answer cached", spec, ran)
				}
			}
		})
	}
}

func TestResolveCacheCorrupt(t *testing.T) {
	spec := mustSpec(t, "debian:6.1")
	for _, tt := range []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)/2], 0o644)
		}},
		{"empty", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o644) }},
		{"garbage", func(t *testing.T, path string) { os.WriteFile(path, []byte("\x00\xff not json"), 0o644) }},
		{"no answer", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			i := bytes.Index(b, []byte(`"resolved"`))
			os.WriteFile(path, append(b[:i], []byte(`"resolved": null}`)...), 0o644)
		}},
		{"another key", func(t *testing.T, path string) { rewrite(t, path, `\"Series\":\"6.1\"`, `\"Series\":\"6.12\"`) }},
		{"other format", func(t *testing.T, path string) { rewrite(t, path, `"format": 1`, `"format": 99`) }},
		{"a directory", func(t *testing.T, path string) {
			os.Remove(path)
			os.Mkdir(path, 0o755)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, f := resolveStore(t)
			want, _, _ := resolveCounting(t, s, f, "debian:6.1")
			host, _ := hostGCC()
			path, _ := s.resolveCachePath(resolveKey(SourceDebian, spec.withDefaults(), host))
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no cache file: %v", err)
			}
			tt.corrupt(t, path)
			got, ran, log := resolveCounting(t, s, f, "debian:6.1")
			if len(ran) == 0 || !cmp.Equal(got, want) {
				t.Errorf("with a %s cache file: ran %v, got %+v", tt.name, ran, got)
			}
			if strings.Contains(log, "warning") || strings.Contains(log, "cached") {
				t.Errorf("with a %s cache file Resolve said:\n%s", tt.name, log)
			}
			if tt.name == "a directory" {
				return // cannot be replaced by a file; every run resolves
			}
			if _, ran, _ := resolveCounting(t, s, f, "debian:6.1"); len(ran) != 0 {
				t.Errorf("the %s cache file was not replaced: the next Resolve ran %v", tt.name, ran)
			}
		})
	}
}

// TestResolveCacheConcurrent resolves the same and other specs at once, as a
// matrix does; run with -race.
func TestResolveCacheConcurrent(t *testing.T) {
	s, f := resolveStore(t)
	specs := []string{"debian:6.1", "debian:6.1", "debian:6.12", "debian-src:6.12", "debian:6.1", "debian-src:6.12"}
	for round := range 2 {
		var wg sync.WaitGroup
		got := make([]*Resolved, len(specs))
		errs := make([]error, len(specs))
		for i, spec := range specs {
			wg.Go(func() { got[i], errs[i] = s.Resolve(context.Background(), mustSpec(t, spec), nil) })
		}
		wg.Wait()
		for i, spec := range specs {
			if errs[i] != nil || got[i] == nil || got[i].Spec != mustSpec(t, spec).withDefaults().String() {
				t.Errorf("round %d: %s resolved to %+v, %v", round, spec, got[i], errs[i])
			}
		}
	}
	before := len(f.ran())
	for _, spec := range specs {
		resolveCounting(t, s, f, spec)
	}
	if ran := f.ran()[before:]; len(ran) != 0 {
		t.Errorf("after concurrent resolutions, resolving again ran %v", ran)
	}
}

func TestVerifiedImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "6.1.0-57-amd64@6.1.192-3")
	if err := writeManifest(dir, fakeBuild(t, dir, "6.1.0-57-amd64", "6.1.192-3")); err != nil {
		t.Fatal(err)
	}
	stamp := filepath.Join(dir, verifiedName)
	if _, err := os.Stat(stamp); err != nil {
		t.Fatalf("writeManifest left no %s: %v", verifiedName, err)
	}
	if _, err := load(dir, true); err != nil {
		t.Fatal(err)
	}
	// A stamp for another file is ignored, and replaced once the image
	// hashes right.
	os.WriteFile(stamp, []byte("sha256 0 file 1:2 3\n"), 0o644)
	if _, err := load(dir, true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(stamp)
	if id, _ := fsutil.FileID(filepath.Join(dir, "vmlinux")); !strings.Contains(string(b), id) {
		t.Errorf("the stamp was not rewritten: %q", b)
	}
	// The same size and mtime with other contents is caught.
	image := filepath.Join(dir, "vmlinux")
	fi, _ := os.Stat(image)
	time.Sleep(20 * time.Millisecond)
	os.WriteFile(image, []byte("\x7fELF vmlinuX"), 0o644)
	os.Chtimes(image, fi.ModTime(), fi.ModTime())
	if _, err := load(dir, true); err == nil || !strings.Contains(err.Error(), "has sha256") {
		t.Fatalf("load of a changed image = %v, want a sha256 mismatch", err)
	}
}

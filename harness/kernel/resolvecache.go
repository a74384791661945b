// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cnvmtest/cnvmtest/internal/flock"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// Resolving a spec runs apt-cache three or four times (0.2–0.4 s), yet its
// answer only changes with the package lists. So each answer is kept in
// <store>/resolved/, with a fingerprint of everything resolution reads: the
// private sources list, dpkg status and update stamp, every file in the
// lists directory, the system's apt configuration files (apt-cache reads
// them too), and the program itself. An answer is used only while its
// fingerprint is the current one; an apt-get update, through the store or
// by hand, changes the lists' inodes or times and so the fingerprint.

// resolveCacheFormat changes when cached answers must not be read.
const resolveCacheFormat = 1

// resolveCache is one cached answer, <store>/resolved/<hash of Key>.json.
type resolveCache struct {
	Format   int       `json:"format"`
	Key      string    `json:"key"`    // what was resolved; see resolveKey
	Inputs   string    `json:"inputs"` // the fingerprint the answer holds for
	Resolved *Resolved `json:"resolved"`
}

// resolveKey names what is resolved: the kind of resolution (debian,
// debian-src), the whole spec and the host's gcc major, which debian:
// prefers.
func resolveKey(kind string, spec Spec, hostGCC int) string {
	b, _ := json.Marshal(spec)
	return fmt.Sprintf("%s %s gcc%d", kind, b, hostGCC)
}

func (s *Store) resolveCachePath(key string) (string, error) {
	sum := sha256.Sum256([]byte(key))
	return s.path("resolved", hex.EncodeToString(sum[:12])+".json")
}

// cachedResolve returns the cached answer for key if the inputs are those
// it was resolved from, else calls resolve and caches what it returns.
// Errors are not cached. A missing, unreadable or corrupt cache file is a
// miss, and failing to write one only costs the next run a resolution.
func (s *Store) cachedResolve(ctx context.Context, a *apt, key string, resolve func() (*Resolved, error)) (r *Resolved, cached bool, err error) {
	path, perr := s.resolveCachePath(key)
	before, ok := a.inputs(ctx)
	if ok && perr == nil {
		if r := readResolveCache(path, key, before); r != nil {
			return r, true, nil
		}
	}
	r, err = resolve()
	if err != nil || !ok || perr != nil {
		return r, false, err
	}
	// Keep the answer only if nothing changed while it was worked out: an
	// update running meanwhile might have given apt-cache a mix of lists.
	if after, ok := a.inputs(ctx); ok && after == before {
		writeResolveCache(path, resolveCache{Format: resolveCacheFormat, Key: key, Inputs: before, Resolved: r})
	}
	return r, false, nil
}

func readResolveCache(path, key, inputs string) *Resolved {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var c resolveCache
	if json.Unmarshal(b, &c) != nil || c.Format != resolveCacheFormat || c.Key != key || c.Inputs != inputs {
		return nil
	}
	if r := c.Resolved; r != nil && r.PackageVersion != "" && r.ImagePackage != "" && len(r.Packages) > 0 {
		return r
	}
	return nil
}

func writeResolveCache(path string, c resolveCache) {
	b, err := json.MarshalIndent(c, "", "\t")
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		writeFileAtomic(path, append(b, '\n')) // concurrent writers each rename a whole file
	}
}

// inputs fingerprints what apt-cache reads, under the shared apt lock so
// that no update through the store is half done. It is false when a file
// cannot be identified, and nothing is then cached.
func (a *apt) inputs(ctx context.Context) (string, bool) {
	unlock, err := flock.Lock(ctx, a.lock, false, nil)
	if err != nil {
		return "", false
	}
	defer unlock()
	h := sha256.New()
	fmt.Fprintf(h, "format %d\nprogram %s\nAPT_CONFIG=%s\n", resolveCacheFormat, programID(), os.Getenv("APT_CONFIG"))
	add := func(name string, required bool) bool {
		id, ok := fsutil.FileID(name)
		if !ok {
			if _, err := os.Lstat(name); required || !errors.Is(err, fs.ErrNotExist) {
				return false
			}
			id = "absent"
		}
		fmt.Fprintf(h, "%s %s\n", name, id)
		return true
	}
	for _, name := range []string{a.path("sources.list"), a.path("status")} {
		if !add(name, true) {
			return "", false
		}
	}
	names := []string{a.path("updated"), "/etc/apt/apt.conf"}
	if c := os.Getenv("APT_CONFIG"); c != "" {
		names = append(names, c)
	}
	for _, dir := range []string{a.path("lists"), "/etc/apt/apt.conf.d"} {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", false
		}
		for _, e := range ents {
			// lists/lock is apt's own lock file, taken by every update;
			// partial/ holds downloads apt has not yet accepted.
			if !e.IsDir() && !(dir == a.path("lists") && e.Name() == "lock") {
				names = append(names, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, name := range names {
		if !add(name, false) {
			return "", false
		}
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// programID identifies the running program by its Go build ID, which
// changes with its code, so a new resolver never reads its predecessor's
// answers. Rebuilding the same code keeps it.
var programID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if b, err := sec.Data(); err == nil {
				return hex.EncodeToString(b)
			}
		}
	}
	// No build ID: the executable file itself, which a rebuild replaces.
	if id, ok := fsutil.FileID(exe); ok {
		return id
	}
	return "unknown"
})

// cachedNote ends the "resolved to" line of an answer from the cache.
func cachedNote(cached bool) string {
	if cached {
		return " (cached; the package lists are unchanged)"
	}
	return ""
}

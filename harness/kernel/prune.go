// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/flock"
)

// Use marks k, and its BuildRoot, in use until release is called: Prune
// and PruneToolchains leave them alone meanwhile. It takes shared flocks
// on their locks, the ones builders hold while they make them. Kernels
// from path: are not stored, and need none.
func (s *Store) Use(ctx context.Context, k *Kernel) (release func(), err error) {
	var locks []string
	if k.Dir != "" && k.Key != "" {
		locks = append(locks, k.Key+".lock")
	}
	if k.BuildRoot != "" {
		name, _, _ := strings.Cut(filepath.Base(k.BuildRoot), "@")
		locks = append(locks, "toolchain-"+name+".lock")
	}
	var unlocks []func()
	release = func() {
		for _, u := range unlocks {
			u()
		}
	}
	for _, l := range locks {
		lock, err := s.path("locks", l)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(lock), 0o755)
		}
		var unlock func()
		if err == nil {
			unlock, err = flock.Lock(ctx, lock, false, nil)
		}
		if err != nil {
			release()
			return nil, err
		}
		unlocks = append(unlocks, unlock)
	}
	return release, nil
}

// tryLock takes path's lock exclusively if no one holds it; busy reports
// that someone does.
func tryLock(path string) (unlock func(), busy bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // flock.Lock tries once before it waits
	unlock, err = flock.Lock(ctx, path, true, nil)
	if errors.Is(err, context.Canceled) {
		return nil, true, nil
	}
	return unlock, false, err
}

// Prune removes the stored kernels keep rejects, and returns them. Entries
// being built, or in use through Use, are skipped, and log says so; so
// are incomplete entries and leftovers of builds, which are removed when
// no one holds them. Each entry is renamed away before it is deleted, so
// no process ever sees half of one.
func (s *Store) Prune(ctx context.Context, keep func(*Kernel) bool, log io.Writer) ([]*Kernel, error) {
	if log == nil {
		log = io.Discard
	}
	dir, err := s.path("kernels")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var removed []*Kernel
	var errs []error
	for _, e := range ents {
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		entry := filepath.Join(dir, e.Name())
		k, lerr := load(entry, false)
		if lerr == nil {
			k.LastUsed = s.lastUsed(k)
			if keep(k) {
				continue
			}
		}
		lock, _ := s.path("locks", e.Name()+".lock")
		gone, err := s.removeLocked(entry, lock)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !gone:
			fmt.Fprintf(log, "skipping %s: in use or being built\n", e.Name())
		case lerr != nil:
			fmt.Fprintf(log, "removed the incomplete entry %s (%v)\n", e.Name(), lerr)
		default:
			os.Remove(filepath.Join(s.Dir, "used", "kernels", e.Name()))
			removed = append(removed, k)
		}
	}
	errs = append(errs, s.pruneTmp())
	return removed, errors.Join(errs...)
}

// removeLocked deletes dir if no one holds lock: renamed into tmp first,
// so it disappears at once.
func (s *Store) removeLocked(dir, lock string) (bool, error) {
	unlock, busy, err := tryLock(lock)
	if err != nil || busy {
		return false, err
	}
	defer unlock()
	tmpDir, err := s.path("tmp")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return false, err
	}
	doomed, err := os.MkdirTemp(tmpDir, "pruned.")
	if err != nil {
		return false, err
	}
	if err := os.Rename(dir, filepath.Join(doomed, "entry")); err != nil {
		os.Remove(doomed)
		return false, fmt.Errorf("removing %s: %w", dir, err)
	}
	return true, os.RemoveAll(doomed)
}

// pruneTmp removes what dead processes left in tmp: directories of builds
// whose lock no one holds, and pruned entries.
func (s *Store) pruneTmp() error {
	tmpDir, err := s.path("tmp")
	if err != nil {
		return err
	}
	ents, _ := os.ReadDir(tmpDir)
	var errs []error
	for _, e := range ents {
		name := e.Name()
		// Build directories are KEY.RANDOM or KEY.debs.RANDOM, and
		// toolchain-NAME.RANDOM; their builders hold the lock of KEY or
		// toolchain-SUITE-COMPILER.
		base := strings.TrimSuffix(strings.TrimSuffix(name, filepath.Ext(name)), ".debs")
		if tc, ok := strings.CutPrefix(base, "toolchain-"); ok {
			tc, _, _ = strings.Cut(tc, "@")
			base = "toolchain-" + tc
		}
		if base == "pruned" || base == "" {
			if err := os.RemoveAll(filepath.Join(tmpDir, name)); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		lock, _ := s.path("locks", base+".lock")
		unlock, busy, err := tryLock(lock)
		if err != nil || busy {
			continue
		}
		if err := os.RemoveAll(filepath.Join(tmpDir, name)); err != nil {
			errs = append(errs, err)
		}
		unlock()
	}
	return errors.Join(errs...)
}

// PruneToolchains removes the build roots keep rejects, and returns them.
// Roots whose lock is held (being made) are skipped.
func (s *Store) PruneToolchains(ctx context.Context, keep func(*Toolchain) bool) ([]*Toolchain, error) {
	tcs, err := s.Toolchains()
	if err != nil {
		return nil, err
	}
	var removed []*Toolchain
	var errs []error
	for _, tc := range tcs {
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		if keep(tc) {
			continue
		}
		lock, _ := s.path("locks", "toolchain-"+tc.Suite+"-"+tc.Compiler+".lock")
		gone, err := s.removeLocked(tc.Dir, lock)
		if err != nil {
			errs = append(errs, err)
		}
		if gone {
			os.Remove(filepath.Join(s.Dir, "used", "toolchains", tc.Name))
			removed = append(removed, tc)
		}
	}
	return removed, errors.Join(errs...)
}

// OlderThan returns a keep function for Prune that keeps the kernels used
// within d.
func OlderThan(d time.Duration) func(*Kernel) bool {
	return func(k *Kernel) bool { return time.Since(k.LastUsed) < d }
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"os"
	"path/filepath"
	"time"
)

// Each use of an entry touches <store>/used/<kind>/<name>, whose time is
// when it was last used: prune by age reads it. Entries themselves stay
// untouched.

// markUsed records name ("kernels/KEY", "toolchains/NAME") as used now.
func (s *Store) markUsed(name string) time.Time {
	now := time.Now()
	stamp, err := s.path("used", name)
	if err != nil {
		return now
	}
	if os.Chtimes(stamp, now, now) == nil {
		return now
	}
	if os.MkdirAll(filepath.Dir(stamp), 0o755) == nil {
		if f, err := os.Create(stamp); err == nil {
			f.Close()
		}
	}
	return now
}

// usedAt returns when name was last used, or def if never.
func (s *Store) usedAt(name string, def time.Time) time.Time {
	stamp, err := s.path("used", name)
	if err != nil {
		return def
	}
	if fi, err := os.Stat(stamp); err == nil {
		return fi.ModTime()
	}
	return def
}

// lastUsed returns when a stored kernel was last used; for one never used,
// when it was stored.
func (s *Store) lastUsed(k *Kernel) time.Time {
	var stored time.Time
	if fi, err := os.Stat(filepath.Join(k.Dir, manifestName)); err == nil {
		stored = fi.ModTime()
	}
	return s.usedAt(filepath.Join("kernels", k.Key), stored)
}

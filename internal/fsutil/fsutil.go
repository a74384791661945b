// SPDX-License-Identifier: MIT

// Package fsutil holds small file-system helpers shared across cnvmtest.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
)

// DirSize returns the total size in bytes of the regular files under dir
// (symlinks are not followed). Files that vanish or cannot be read while it
// walks are skipped, so it suits progress lines about a directory being
// written; err is the first error met, if any, and n counts what was read.
func DirSize(dir string) (n int64, err error) {
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, werr error) error {
		if werr != nil {
			if err == nil {
				err = werr
			}
			return nil
		}
		if d.Type().IsRegular() {
			if info, ierr := d.Info(); ierr == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}

// ErrTooManyFiles is what Fingerprint returns for a tree of more files
// than it was allowed to read.
var ErrTooManyFiles = errors.New("too many files")

// Fingerprint writes to w a line for every file under dir: its path
// relative to dir, size and modification time. That changes with any
// edit, copy or checkout, and costs a walk of the tree, not a read of
// every file (a kernel tree is 1.5 GB; a Go module's sources are checked
// on every run). It leaves out .git and the directories skip names, and
// stops with ErrTooManyFiles after maxFiles files (0: no limit). It
// returns how many files it read.
func Fingerprint(w io.Writer, dir string, skip []string, maxFiles int) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || slices.Contains(skip, p) {
				return filepath.SkipDir
			}
			return nil
		}
		if n++; maxFiles > 0 && n > maxFiles {
			return ErrTooManyFiles
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(w, "%s\x00%d\x00%d\x00", rel, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return n, err
}

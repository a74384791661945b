// Package fsutil holds small file-system helpers shared across cnvmtest.
package fsutil

import (
	"io/fs"
	"path/filepath"
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

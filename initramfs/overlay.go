// Package initramfs builds the guest's initramfs: a u-root base image built
// once and cached (Base), and a small per-run overlay holding the guest
// runner, the test binary and the module (Write). The kernel unpacks
// concatenated newc archives in order, so a run never rebuilds u-root.
package initramfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/u-root/mkuimage/cpio"
)

// File is one file of the overlay.
type File struct {
	// Name is the path inside the guest, without a leading slash.
	Name string
	// Source is a host file to copy; Data is used when Source is empty.
	Source string
	Data   []byte
	// Mode holds the permission bits; 0 means 0o755 for Source and 0o644
	// for Data.
	Mode uint64
}

// Write writes the initramfs to out: the base archive's bytes followed by a
// newc overlay of files. It writes to a temporary file and renames it, so a
// reader never sees half an image.
func Write(out, base string, files []File) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".initramfs-*")
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeImage(tmp, base, files); err != nil {
		tmp.Close()
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return os.Rename(tmp.Name(), out)
}

func writeImage(w io.Writer, base string, files []File) error {
	if base != "" {
		b, err := os.Open(base)
		if err != nil {
			return fmt.Errorf("base image: %w", err)
		}
		_, err = io.Copy(w, b)
		b.Close()
		if err != nil {
			return fmt.Errorf("base image: %w", err)
		}
	}
	recs, err := records(files)
	if err != nil {
		return err
	}
	cw := cpio.Newc.Writer(w)
	if err := cpio.WriteRecords(cw, recs); err != nil {
		return err
	}
	return cpio.WriteTrailer(cw)
}

// records turns files into cpio records, each preceded by the directories it
// needs (0755, like the base image's, so the overlay changes no mode there).
func records(files []File) ([]cpio.Record, error) {
	var recs []cpio.Record
	dirs := map[string]bool{}
	for _, f := range files {
		name := path.Clean(f.Name)
		var parents []string
		for d := path.Dir(name); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			recs = append(recs, cpio.Directory(d, 0o755))
		}
		data, mode := f.Data, f.Mode
		if f.Source != "" {
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return nil, err
			}
			data = b
			if mode == 0 {
				mode = 0o755
			}
		}
		if mode == 0 {
			mode = 0o644
		}
		recs = append(recs, cpio.StaticRecord(data, cpio.Info{
			Name:  name,
			Mode:  cpio.S_IFREG | mode,
			NLink: 1,
		}))
	}
	return recs, nil
}

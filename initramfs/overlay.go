// SPDX-License-Identifier: MIT

// Package initramfs builds the guest's initramfs with u-root's cpio
// writer (github.com/u-root/mkuimage/cpio): a u-root base image built once
// and cached (Base), and a small per-run overlay holding the guest runner,
// the test binary and the module (Write). The kernel unpacks concatenated
// newc archives in order, so a run never rebuilds u-root. A run whose
// runner is the guest's init needs no base at all: Write then starts the
// image with the skeleton a Linux init needs (Skeleton).
package initramfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/fsutil"
	"github.com/u-root/mkuimage/cpio"
)

// File is one file of the overlay.
type File struct {
	// Name is the path inside the guest, without a leading slash.
	Name string
	// Source is a host file to copy; Data is used when Source is empty.
	Source string
	Data   []byte
	// Link makes the file a symbolic link to Link instead (Source, Data
	// and Mode are then unused).
	Link string
	// Mode holds the permission bits; 0 means 0o755 for Source and 0o644
	// for Data.
	Mode uint64
}

// Skeleton lists what an image without a base holds before its files: the
// mount points the runner uses and /dev/console, without which the kernel
// starts init with no standard input, output or error.
var Skeleton = []cpio.Record{
	cpio.Directory("dev", 0o755),
	cpio.CharDev("dev/console", 0o600, 5, 1),
	cpio.Directory("proc", 0o555),
	cpio.Directory("sys", 0o555),
	cpio.Directory("tmp", 0o1777),
}

// Write writes the initramfs to out: the base archive's bytes followed by a
// newc overlay of files. With no base (base is ""), the overlay starts with
// Skeleton. It writes to a temporary file and renames it, so a
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
	var recs []cpio.Record
	if base == "" {
		recs = append(recs, Skeleton...)
	}
	more, err := records(files, recs)
	if err != nil {
		return err
	}
	recs = append(recs, more...)
	cw := cpio.Newc.Writer(w)
	if err := cpio.WriteRecords(cw, recs); err != nil {
		return err
	}
	return cpio.WriteTrailer(cw)
}

// records turns files into cpio records, each preceded by the directories it
// needs (0755, like the base image's, so the overlay changes no mode there)
// that are not among before.
func records(files []File, before []cpio.Record) ([]cpio.Record, error) {
	var recs []cpio.Record
	dirs := map[string]bool{}
	for _, r := range before {
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			dirs[r.Name] = true
		}
	}
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
		if f.Link != "" {
			recs = append(recs, cpio.Symlink(name, f.Link))
			continue
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

// WriteCached is Write, but it keeps the images it writes in cacheDir,
// named by what went into them, and when the same image is asked for
// again it links out to the one kept instead of writing it afresh (the
// runner and the test binary are megabytes: writing them was 50-80 ms of
// a warm run, make bench). What identifies a source file is its
// fsutil.LinkedFileID (its inode, size and modification time: the run's
// binaries are links to the build cache's, see harness/build.Stable), so a
// source rewritten makes a new image; where a file has no such ID (not
// Linux) it writes the image as Write does.
// It keeps the keep images used last and removes the others.
func WriteCached(out, base string, files []File, cacheDir string, keep int) error {
	key, ok := imageKey(base, files)
	if !ok {
		return Write(out, base, files)
	}
	kept := filepath.Join(cacheDir, key+".cpio")
	os.Remove(out)
	if err := os.Link(kept, out); err == nil {
		now := time.Now()
		os.Chtimes(kept, now, now) // used last: pruned last
		return nil
	}
	if err := Write(out, base, files); err != nil {
		return err
	}
	// Kept as a second name of out, swapped in whole.
	if os.MkdirAll(cacheDir, 0o755) == nil {
		tmp := kept + ".new"
		os.Remove(tmp)
		if os.Link(out, tmp) == nil && os.Rename(tmp, kept) != nil {
			os.Remove(tmp)
		}
		pruneImages(cacheDir, keep)
	}
	return nil
}

// imageKey names the image of base and files; false when a file cannot be
// identified without reading it.
func imageKey(base string, files []File) (string, bool) {
	h := sha256.New()
	id := func(name string) bool {
		v, ok := fsutil.LinkedFileID(name)
		fmt.Fprintf(h, "%s\x00", v)
		return ok
	}
	fmt.Fprintf(h, "base %q\x00", base)
	if base != "" && !id(base) {
		return "", false
	}
	for _, f := range files {
		fmt.Fprintf(h, "file %q %o %q %d\x00", f.Name, f.Mode, f.Link, len(f.Data))
		h.Write(f.Data)
		if f.Source != "" && !id(f.Source) {
			return "", false
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], true
}

// pruneImages removes all but the keep newest images in dir.
func pruneImages(dir string, keep int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type image struct {
		name string
		mod  time.Time
	}
	var images []image
	for _, e := range ents {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".cpio") {
			images = append(images, image{e.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(images, func(a, b image) int { return b.mod.Compare(a.mod) })
	for _, im := range images[min(keep, len(images)):] {
		os.Remove(filepath.Join(dir, im.name))
	}
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// skipRE matches what a kernel entry does not need: documentation, and the
// modules, which are most of an image package and which a guest booting
// from an initramfs never loads.
var skipRE = regexp.MustCompile(`^(?:usr/share/|(?:usr/)?lib/modules/[^/]+/kernel/)`)

// unpackAll unpacks Debian packages into root at the same time. keep
// names modules (paths under lib/modules/RELEASE/kernel/, without a
// compression suffix) to unpack although skipRE skips modules.
func unpackAll(ctx context.Context, root string, debs []string, keep []string) error {
	errs := make([]error, len(debs))
	var wg sync.WaitGroup
	for i, deb := range debs {
		only := ""
		if strings.HasPrefix(filepath.Base(deb), "linux-image-") && len(keep) == 0 {
			// A 6.x image package is /boot followed by the modules, nine
			// tenths of it; reading on would only decompress them.
			only = "boot/"
		}
		wg.Go(func() {
			if err := unpackDeb(ctx, deb, root, only, keep); err != nil {
				errs[i] = fmt.Errorf("unpacking %s: %w", filepath.Base(deb), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// errDone stops extraction once the wanted part of a package is out.
var errDone = errors.New("done")

// unpackDeb extracts a package's files into root, as dpkg-deb -x would, but
// skipping what skipRE matches, never writing outside root, and turning
// absolute symlinks (lib/modules/*/build -> /usr/src/linux-headers-*) into
// relative ones so they resolve inside root. If only is set, just that
// directory is extracted, and dpkg-deb is stopped after it.
func unpackDeb(ctx context.Context, deb, root, only string, keep []string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	// dpkg-deb forks its decompressor, which holds the pipes too: stopping
	// dpkg-deb alone leaves it decompressing into a pipe no one reads
	// while Wait waits for it to close stderr. So cancelling stops the
	// whole process group, closing stdout makes a survivor's next write
	// fail, and WaitDelay bounds what is left.
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	err = extractTar(tar.NewReader(out), r, only, keep)
	if err != nil {
		cancel()
		out.Close()
	}
	werr := cmd.Wait()
	switch {
	case errors.Is(err, errDone):
		return nil
	case err != nil:
		return err
	case werr != nil:
		return fmt.Errorf("dpkg-deb --fsys-tarfile: %w%s", werr, tail(stderr.String(), 4))
	}
	return nil
}

func extractTar(tr *tar.Reader, root *os.Root, only string, keep []string) error {
	x := &extractor{root: root}
	defer x.close()
	inside := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." || skipRE.MatchString(name+"/") && !kept(name, keep) {
			continue
		}
		if only != "" {
			if !strings.HasPrefix(name+"/", only) {
				if inside {
					return errDone // dpkg-deb writes a directory's entries together
				}
				continue
			}
			inside = true
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%q: path outside the package root", h.Name)
		}
		if err := x.extract(tr, h, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// modulesRE splits a module's path in a package into the part under
// lib/modules/RELEASE/kernel/ and its compression suffix.
var modulesRE = regexp.MustCompile(`^(?:usr/)?lib/modules/[^/]+/kernel/(.+\.ko)(\.xz|\.zst|\.gz)?$`)

// kept reports whether name is one of the modules keep lists.
func kept(name string, keep []string) bool {
	if len(keep) == 0 {
		return false
	}
	m := modulesRE.FindStringSubmatch(name)
	return m != nil && slices.Contains(keep, m[1])
}

// extractor writes tar entries under root. A tar lists a directory's
// entries together, so it keeps the last directory open and works relative
// to it: resolving every path from root, one component at a time, made
// extraction three times slower than dpkg-deb -x.
type extractor struct {
	root *os.Root
	dir  string   // the last parent directory used, relative to root
	at   *os.Root // open on dir
}

func (x *extractor) close() {
	if x.at != nil {
		x.at.Close()
	}
}

// parent returns the directory that will hold name, created if need be,
// and name's last element.
func (x *extractor) parent(name string) (*os.Root, string, error) {
	dir, base := path.Split(name)
	if dir == "" {
		return x.root, base, nil
	}
	if dir != x.dir {
		x.close()
		x.at, x.dir = nil, ""
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		at, err := x.root.OpenRoot(dir)
		if err != nil {
			return nil, "", err
		}
		x.at, x.dir = at, dir
	}
	return x.at, base, nil
}

func (x *extractor) extract(tr *tar.Reader, h *tar.Header, name string) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return x.root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		at, base, err := x.parent(name)
		if err != nil {
			return err
		}
		f, err := at.OpenFile(base, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, h.FileInfo().Mode().Perm())
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		// make compares the headers' times with the objects it builds.
		return at.Chtimes(base, h.ModTime, h.ModTime)
	case tar.TypeSymlink:
		target := h.Linkname
		if path.IsAbs(target) {
			rel, err := filepath.Rel(path.Dir("/"+name), target)
			if err != nil {
				return err
			}
			target = rel
		}
		at, base, err := x.parent(name)
		if err != nil {
			return err
		}
		at.Remove(base)
		return at.Symlink(target, base)
	case tar.TypeLink:
		old := path.Clean(strings.TrimPrefix(h.Linkname, "./"))
		if !filepath.IsLocal(old) {
			return fmt.Errorf("hard link to %q outside the package root", h.Linkname)
		}
		if _, _, err := x.parent(name); err != nil {
			return err
		}
		x.root.Remove(name)
		return x.root.Link(old, name)
	}
	return nil
}

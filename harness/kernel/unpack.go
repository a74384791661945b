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
	"strings"
	"sync"
	"syscall"
	"time"
)

// skipRE matches what a kernel entry does not need: documentation, and the
// modules, which are most of an image package and which a guest booting
// from an initramfs never loads.
var skipRE = regexp.MustCompile(`^(?:usr/share/|(?:usr/)?lib/modules/[^/]+/kernel/)`)

// unpackAll unpacks Debian packages into root at the same time.
func unpackAll(ctx context.Context, root string, debs []string) error {
	errs := make([]error, len(debs))
	var wg sync.WaitGroup
	for i, deb := range debs {
		only := ""
		if strings.HasPrefix(filepath.Base(deb), "linux-image-") {
			// A 6.x image package is /boot followed by the modules, nine
			// tenths of it; reading on would only decompress them.
			only = "boot/"
		}
		wg.Go(func() {
			if err := unpackDeb(ctx, deb, root, only); err != nil {
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
func unpackDeb(ctx context.Context, deb, root, only string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	// dpkg-deb forks its decompressor, which holds the pipes too: stop
	// the whole process group, and don't let Wait hang on a pipe a
	// surviving child keeps open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
	err = extractTar(tar.NewReader(out), r, only)
	if err != nil {
		cancel() // rather than let dpkg-deb block on a full pipe
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

func extractTar(tr *tar.Reader, root *os.Root, only string) error {
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
		if name == "." || skipRE.MatchString(name+"/") {
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
		if err := extractEntry(tr, root, h, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

func extractEntry(tr *tar.Reader, root *os.Root, h *tar.Header, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, h.FileInfo().Mode().Perm())
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
		return root.Chtimes(name, h.ModTime, h.ModTime)
	case tar.TypeSymlink:
		target := h.Linkname
		if path.IsAbs(target) {
			rel, err := filepath.Rel(path.Dir("/"+name), target)
			if err != nil {
				return err
			}
			target = rel
		}
		root.Remove(name)
		return root.Symlink(target, name)
	case tar.TypeLink:
		old := path.Clean(strings.TrimPrefix(h.Linkname, "./"))
		if !filepath.IsLocal(old) {
			return fmt.Errorf("hard link to %q outside the package root", h.Linkname)
		}
		root.Remove(name)
		return root.Link(old, name)
	}
	return nil
}

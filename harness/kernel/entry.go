// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux"
	"github.com/cnvmtest/cnvmtest/internal/flock"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// manifestFormat changes when entries must be rebuilt.
const manifestFormat = 1

const manifestName = "kernel.json"

// manifest is an entry's kernel.json, written last: an entry without a valid
// one is incomplete. Its paths are relative to the entry.
type manifest struct {
	Format      int       `json:"format"`
	Created     time.Time `json:"created"`
	ImageSHA256 string    `json:"image_sha256"`
	Kernel      Kernel    `json:"kernel"`
}

// errInvalidEntry marks an entry to rebuild.
var errInvalidEntry = errors.New("invalid cache entry")

// load reads and checks an entry; verify also checks the image's hash.
func load(dir string, verify bool) (*Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errInvalidEntry, manifestName, err)
	}
	k := &m.Kernel
	if k.Key == "" { // entries from before kernels were built here
		k.Key, k.Source = k.Release+"@"+k.PackageVersion, SourceDebian
	}
	switch {
	case m.Format != manifestFormat:
		return nil, fmt.Errorf("%w: format %d, want %d", errInvalidEntry, m.Format, manifestFormat)
	case k.Key != filepath.Base(dir):
		return nil, fmt.Errorf("%w: manifest is for %s", errInvalidEntry, k.Key)
	}
	if k.Image == "" || k.Config == "" || k.BuildDir == "" {
		return nil, fmt.Errorf("%w: a path is missing", errInvalidEntry)
	}
	for _, p := range k.paths() {
		if *p == "" {
			continue // BzImage, Vmlinux, SystemMap, BuildLog and Gcov are optional
		}
		if !filepath.IsLocal(*p) {
			return nil, fmt.Errorf("%w: path %q outside the entry", errInvalidEntry, *p)
		}
		*p = filepath.Join(dir, *p)
		if _, err := os.Stat(*p); err != nil {
			return nil, fmt.Errorf("%w: %v", errInvalidEntry, err)
		}
	}
	if len(k.PortModules) == 0 && len(portModules[k.Arch]) > 0 {
		// Stored before the store kept the result port's modules: such
		// an entry lacks them, unless the kernel builds them in.
		if err := findPortModules(context.Background(), k, dir); err != nil {
			return nil, fmt.Errorf("%w: %v", errInvalidEntry, err)
		}
	}
	if verify {
		if err := verifyImage(dir, k.Image, m.ImageSHA256); err != nil {
			return nil, err
		}
	}
	k.Dir = dir
	k.CompilerMismatch = loadMismatch(k)
	return k, nil
}

// paths are the fields of k that name files in its entry.
func (k *Kernel) paths() []*string {
	ps := []*string{&k.Image, &k.BzImage, &k.Vmlinux, &k.Config, &k.SystemMap, &k.BuildDir, &k.BuildLog, &k.Gcov}
	for i := range k.PortModules {
		ps = append(ps, &k.PortModules[i])
	}
	return ps
}

// writeManifest records k, whose paths are absolute under dir, as the
// entry's manifest, atomically.
func writeManifest(dir string, k *Kernel) error {
	m := manifest{Format: manifestFormat, Created: time.Now().UTC(), Kernel: *k}
	mk := &m.Kernel
	// Spec stays: the spec that built the entry. The rest depends on the
	// host and the time.
	mk.Dir, mk.CompilerMismatch, mk.BuildRoot, mk.ModuleCC, mk.ModuleMakeArgs = "", "", "", "", nil
	mk.LastUsed = time.Time{}
	for _, p := range mk.paths() {
		if *p == "" {
			continue
		}
		rel, err := filepath.Rel(dir, *p)
		if err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("%s is outside the entry %s", *p, dir)
		}
		*p = rel
	}
	id, idOK := fsutil.FileID(k.Image)
	sum, err := fileSHA256(k.Image)
	if err != nil {
		return err
	}
	m.ImageSHA256 = sum
	if idOK {
		writeVerified(dir, sum, id)
	}
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, manifestName), append(b, '\n'))
}

// verifiedName, in an entry, records that its image had the manifest's
// sha256 when it had a given fileID: while the fileID stays the same, the
// image is not read again. Hashing a 65 MB vmlinux costs a warm run 50 ms.
const verifiedName = "image.verified"

// verifyImage checks that image, in the entry dir, has the sha256 want.
func verifyImage(dir, image, want string) error {
	id, idOK := fsutil.FileID(image)
	stamp := filepath.Join(dir, verifiedName)
	if b, err := os.ReadFile(stamp); idOK && err == nil && string(b) == verifiedStamp(want, id) {
		return nil
	}
	sum, err := fileSHA256(image)
	if err != nil {
		return err
	}
	if sum != want {
		os.Remove(stamp)
		return fmt.Errorf("%w: %s has sha256 %s, the manifest says %s", errInvalidEntry, image, sum, want)
	}
	if idOK {
		writeVerified(dir, sum, id) // the fileID from before reading: a change meanwhile voids it
	}
	return nil
}

func verifiedStamp(sum, id string) string { return "sha256 " + sum + " file " + id + "\n" }

// writeVerified records a verified image; failing to (a read-only store)
// only costs the next load a hash.
func writeVerified(dir, sum, id string) {
	writeFileAtomic(filepath.Join(dir, verifiedName), []byte(verifiedStamp(sum, id)))
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ensure returns the entry for key, building it with build first if it is
// missing or invalid. build fills a fresh directory and returns the kernel
// with absolute paths into it; ensure then writes the manifest and renames
// the directory into place. A flock per key makes concurrent processes
// build once: the others wait, then load what the first built.
func (s *Store) ensure(ctx context.Context, key string, p *progress, build func(root string) (*Kernel, error)) (*Kernel, error) {
	dir, err := s.path("kernels", key)
	if err != nil {
		return nil, err
	}
	if k, err := load(dir, true); err == nil {
		p.printf("using the stored %s", key)
		return k, nil
	}
	lockPath, _ := s.path("locks", key+".lock")
	tmpDir, _ := s.path("tmp")
	for _, d := range []string{filepath.Dir(dir), filepath.Dir(lockPath), tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	unlock, err := flock.Lock(ctx, lockPath, true, func() { p.printf("waiting for another process preparing %s", key) })
	if err != nil {
		return nil, err
	}
	defer unlock()
	k, err := load(dir, true)
	if err == nil {
		p.printf("using %s, prepared by another process", key)
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		p.printf("rebuilding %s: %v", key, err)
	}
	// Builds that died left their directories; with the lock held none of
	// them is running.
	old, _ := filepath.Glob(filepath.Join(tmpDir, key+".*"))
	for _, o := range old {
		os.RemoveAll(o)
	}
	root, err := os.MkdirTemp(tmpDir, key+".")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root) // a no-op once renamed
	if err := os.Chmod(root, 0o755); err != nil {
		return nil, err
	}
	k, err = build(root)
	if err != nil {
		return nil, err
	}
	k.Key = key
	if err := writeManifest(root, k); err != nil {
		return nil, fmt.Errorf("writing the manifest: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(root, dir); err != nil {
		return nil, err
	}
	return load(dir, false)
}

// errDownload marks download failures, which stale package lists cause.
var errDownload = errors.New("download failed")

// build downloads and prepares a resolved kernel in root.
func (s *Store) build(ctx context.Context, a *apt, r *Resolved, root string, p *progress) (*Kernel, error) {
	// Named after the entry, so the next build of it cleans up after a crash.
	tmpDir, _ := s.path("tmp")
	debs, err := os.MkdirTemp(tmpDir, r.key()+".debs.")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(debs)

	var size int64
	for _, pkg := range r.Packages {
		size += pkg.Size
	}
	p.printf("downloading %d packages (%s)", len(r.Packages), megabytes(size))
	start := time.Now()
	if err := a.download(ctx, debs, r.Packages); err != nil {
		return nil, fmt.Errorf("%w: %w", errDownload, err)
	}
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil || len(files) != len(r.Packages) {
		return nil, fmt.Errorf("%w: apt-get download left %d .deb files for %d packages", errDownload, len(files), len(r.Packages))
	}
	p.printf("downloaded in %s", since(start))

	start = time.Now()
	if err := unpackAll(ctx, root, files, keptModules(r.Arch)); err != nil {
		return nil, err
	}
	k, err := locate(root, r)
	if err != nil {
		return nil, err
	}
	if err := findPortModules(ctx, k, root); err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(root, k.BuildDir)
	if err := fixBuildDir(root, rel); err != nil {
		return nil, fmt.Errorf("fixing the kbuild tree: %w", err)
	}
	if err := checkBuildDir(root, rel); err != nil {
		return nil, fmt.Errorf("checking the kbuild tree %s: %w", rel, err)
	}
	p.printf("unpacked in %s", since(start))

	start = time.Now()
	if k.Arch != "" {
		from, err := extractForeignImage(ctx, k, root)
		if err != nil {
			return nil, err
		}
		if from == "" {
			p.printf("the %s image is the vmlinuz as it is", k.Arch)
		} else {
			p.printf("the %s image is the vmlinuz's %s (%s)", k.Arch, from, since(start))
		}
		return k, nil
	}
	if err := extractImage(ctx, k, filepath.Join(root, "vmlinux")); err != nil {
		return nil, err
	}
	if k.ImageFallback != "" {
		p.printf("warning: booting the bzImage: %s", k.ImageFallback)
	} else {
		p.printf("extracted vmlinux (PVH entry point) in %s", since(start))
	}
	return k, nil
}

// locate finds the files of release r in an unpacked root: 6.x packages put
// them in /boot, 7.x ones in /usr/lib/modules/RELEASE.
func locate(root string, r *Resolved) (*Kernel, error) {
	rel := r.Release
	first := func(names ...string) string {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(root, n)); err == nil {
				return filepath.Join(root, n)
			}
		}
		return ""
	}
	modules := []string{"usr/lib/modules/" + rel + "/", "lib/modules/" + rel + "/"}
	k := &Kernel{
		Source:         SourceDebian,
		Release:        rel,
		Arch:           r.Arch,
		PackageVersion: r.PackageVersion,
		Packages:       r.Packages,
		Suites:         r.Suites,
		BzImage:        first("boot/vmlinuz-"+rel, modules[0]+"vmlinuz", modules[1]+"vmlinuz"),
		Config:         first("boot/config-"+rel, modules[0]+"config", modules[1]+"config"),
		SystemMap:      first("boot/System.map-"+rel, modules[0]+"System.map", modules[1]+"System.map"),
		BuildDir:       first("usr/src/linux-headers-" + rel),
	}
	if k.BzImage == "" {
		found, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
		more, _ := filepath.Glob(filepath.Join(root, "*", "lib", "modules", "*", "vmlinuz"))
		return nil, fmt.Errorf("no kernel image for release %s in the packages (found %q)", rel, append(found, more...))
	}
	if k.BuildDir == "" {
		return nil, fmt.Errorf("no usr/src/linux-headers-%s in the packages", rel)
	}
	if k.Config == "" {
		k.Config = filepath.Join(k.BuildDir, ".config")
	}
	config, err := os.ReadFile(k.Config)
	if err != nil {
		return nil, err
	}
	k.CC = ccVersionText(config)
	if placeholderMap(k.SystemMap) {
		k.SystemMap = ""
	}
	return k, nil
}

// placeholderMap reports whether a System.map is Debian's one-line stand-in.
func placeholderMap(name string) bool {
	if name == "" {
		return false
	}
	b, err := os.ReadFile(name)
	return err == nil && len(b) < 4096 && bytes.Contains(b, []byte("The real System.map is in"))
}

// extractForeignImage chooses the image to boot of a kernel for another
// architecture (arm64, the only one so far): the vmlinuz when it is an
// arm64 Image, else the Image it holds, written to root/Image.
func extractForeignImage(ctx context.Context, k *Kernel, root string) (from string, err error) {
	switch k.Arch {
	case S390x:
		// QEMU's s390-ccw-virtio loads Debian's vmlinuz as it is (the
		// kernel's own compressed boot image, arch/s390/boot).
		k.Image = k.BzImage
		return "", nil
	case Arm64:
	default:
		return "", fmt.Errorf("booting %s kernels is not supported", k.Arch)
	}
	z, err := os.ReadFile(k.BzImage)
	if err != nil {
		return "", err
	}
	img, from, err := vmlinux.Arm64Image(ctx, z)
	if err != nil {
		return "", fmt.Errorf("%s: %w", k.BzImage, err)
	}
	k.Image = k.BzImage
	if len(img) != len(z) {
		k.Image = filepath.Join(root, "Image")
		if err := os.WriteFile(k.Image, img, 0o644); err != nil {
			return "", err
		}
	}
	return from, nil
}

// extractImage writes BzImage's vmlinux to dst and chooses the image to boot.
func extractImage(ctx context.Context, k *Kernel, dst string) error {
	k.Image = k.BzImage
	bz, err := os.ReadFile(k.BzImage)
	if err != nil {
		return err
	}
	elf, _, err := vmlinux.Extract(ctx, bz)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		k.ImageFallback = "extracting vmlinux: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		return nil
	}
	if err := os.WriteFile(dst, elf, 0o644); err != nil {
		return err
	}
	k.Vmlinux = dst
	k.PVH, err = vmlinux.HasPVHEntry(elf)
	switch {
	case err != nil:
		k.ImageFallback = "reading the vmlinux notes: " + err.Error()
	case !k.PVH:
		k.ImageFallback = "the vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY), so QEMU cannot boot it directly"
	default:
		k.Image = dst
	}
	return nil
}

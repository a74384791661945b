// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/debpkg"
	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/kconfig"
)

// Kernel is a resolved, unpacked or built kernel, ready to boot and to
// build modules against. Paths are absolute. Its JSON form (kernel.json in
// the store) records exactly what was used, for results to cite.
type Kernel struct {
	Spec string `json:"spec"` // asked for; in List, the one that built it
	// Source is where it came from: SourceDebian (also when empty, in
	// entries stored before the other sources), SourceDebianSrc,
	// SourceTree or SourcePath.
	Source  string `json:"source,omitempty"`
	Key     string `json:"key,omitempty"` // the entry's name in the store
	Release string `json:"release"`       // uname -r, "6.1.0-57-amd64"
	// Arch is the kernel's architecture, Debian's name for it, when it is
	// not HostArch: "arm64". See [Kernel.Architecture].
	Arch string `json:"arch,omitempty"`
	// PackageVersion is Debian's version of the image package, or, for
	// debian-src:, of the linux-source package: "6.1.192-3".
	PackageVersion string    `json:"package_version"`
	Packages       []Package `json:"packages"`      // exactly what was downloaded
	Suites         []string  `json:"suites"`        // where PackageVersion was found
	Dir            string    `json:"dir,omitempty"` // the cache entry; "" for path:

	// Kernels built here (debian-src:, src:) record how.
	Flavour    string `json:"flavour,omitempty"`     // config flavour: "minimal", "debug"
	ConfigHash string `json:"config_hash,omitempty"` // hash of the flavour's fragments and the build recipe
	// ConfigWarnings lists the optional options that did not take.
	ConfigWarnings []string `json:"config_warnings,omitempty"`
	Compiler       string   `json:"compiler,omitempty"`   // gcc -dumpfullversion of the gcc that built it: "gcc 12.2.0"
	SourceDir      string   `json:"source_dir,omitempty"` // src: the tree built
	// Revision identifies the tree's contents (src:): "git-0123456789ab",
	// with "-dirty-HASH" for local changes, or "tree-HASH" without git.
	Revision     string  `json:"revision,omitempty"`
	BuildLog     string  `json:"build_log,omitempty"`
	BuildSeconds float64 `json:"build_seconds,omitempty"` // the make of the kernel itself

	// Image is what QEMU's -kernel takes: Vmlinux when it has a PVH entry
	// point (direct boot, no decompression in the guest), else BzImage,
	// with ImageFallback saying why. For arm64, the uncompressed Image:
	// BzImage (Debian's vmlinuz) when it is one, else what it unpacks to.
	Image         string `json:"image"`
	ImageFallback string `json:"image_fallback,omitempty"`
	BzImage       string `json:"bzimage,omitempty"`
	Vmlinux       string `json:"vmlinux,omitempty"` // extracted from BzImage, or built; "" if that failed
	PVH           bool   `json:"pvh"`               // Vmlinux has XEN_ELFNOTE_PHYS32_ENTRY

	Config string `json:"config"`
	// SystemMap is empty when the package ships only Debian's placeholder
	// (the real map is in the -dbg package).
	SystemMap string `json:"system_map,omitempty"`
	// BuildDir is a kbuild tree: make -C BuildDir M=DIR modules, or,
	// when BuildRoot is set, what ModuleMake runs.
	BuildDir string `json:"build_dir"`
	// PortModules are modules of the kernel's own package, uncompressed,
	// that the guest runner loads, in this order, before it opens the
	// result port, because the port's driver is not built in: s390x's
	// virtio_console (see guestModules). Empty for every other kernel.
	PortModules []string `json:"port_modules,omitempty"`
	// Gcov, for kernels built here with CONFIG_GCOV_KERNEL, holds the gcov
	// notes (.gcno) of the profiled objects under obj/ and their sources
	// under src/, at their paths in the object and source trees; the notes
	// name the sources relative to Gcov.
	Gcov string `json:"gcov,omitempty"`
	// CC is CONFIG_CC_VERSION_TEXT, the compiler the kernel was built with.
	CC string `json:"cc"`

	// What follows is worked out on this host at each Get and List, and
	// is not stored.

	// CompilerMismatch, when not empty, says why modules will not build
	// for this kernel here: the host's gcc cannot, and there is no
	// BuildRoot.
	CompilerMismatch string `json:"compiler_mismatch,omitempty"`
	// BuildRoot, when set, is a root file system (a debootstrap of the
	// kernel's Debian suite) holding the newer gcc the kernel was built
	// with: modules must be built inside it, which ModuleMake does.
	BuildRoot string `json:"build_root,omitempty"`
	// ModuleCC is the compiler modules are built with: "gcc 12.2.0" on the
	// host, or "gcc-14 14.2.0 in trixie" in BuildRoot.
	ModuleCC string `json:"module_cc,omitempty"`
	// ModuleMakeArgs are added to the module build's make command line,
	// such as CC=gcc for a kernel built with an older gcc the host lacks.
	ModuleMakeArgs []string `json:"module_make_args,omitempty"`
	// LastUsed is when a Get last returned the entry.
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Store is the cache of kernels, rooted at Dir.
type Store struct {
	Dir string

	run runner // runs apt; nil runs the real commands
}

// DefaultStore returns the store named by CNVMTEST_CACHE, else the
// cnvmtest directory in the user's cache directory ($XDG_CACHE_HOME or
// ~/.cache).
func DefaultStore() (*Store, error) {
	if d := os.Getenv("CNVMTEST_CACHE"); d != "" {
		return &Store{Dir: d}, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("finding the cache directory (set CNVMTEST_CACHE): %w", err)
	}
	return &Store{Dir: filepath.Join(d, "cnvmtest")}, nil
}

func (s *Store) path(elem ...string) (string, error) {
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{dir}, elem...)...), nil
}

// apt returns the store's apt configuration for kernels of arch: the
// host's lists in <store>/apt, or for a foreign architecture the host's
// and arch's in <store>/apt-ARCH. A configuration of its own keeps the
// host's sources list as it was: runs of two architectures (a matrix, or
// a cnvmtest of before arm64 sharing the store) never rewrite each
// other's, which would make each refresh its lists in turn.
func (s *Store) apt(ctx context.Context, arch string) (*apt, error) {
	name, archs := "apt", []string(nil)
	if arch != "" && arch != HostArch {
		name, archs = "apt-"+arch, []string{arch}
	}
	dir, err := s.path(name)
	if err != nil {
		return nil, err
	}
	locks, _ := s.path("locks", name+".lock")
	a := &apt{dir: dir, lock: locks, run: s.run, archs: archs}
	if a.run == nil {
		a.run = execRunner
	}
	if err := a.prepare(ctx); err != nil {
		return nil, fmt.Errorf("preparing the apt configuration in %s: %w", dir, err)
	}
	return a, nil
}

// Get returns the kernel a spec names, downloading, preparing or building
// it unless the store has it. It writes progress to log, which may be nil.
//
// With fresh package lists (under a day old) and the kernel in the store,
// Get does no network I/O. An exact spec found in the store needs no lists
// at all, and when Debian's archive cannot be reached the newest stored
// kernel that matches the spec is used.
//
// A Debian kernel built with a newer gcc than the host's comes with a
// BuildRoot holding that gcc, made on first use (this needs root and
// debootstrap; without them, CompilerMismatch says why modules will not
// build).
func (s *Store) Get(ctx context.Context, spec Spec, log io.Writer) (*Kernel, error) {
	start := time.Now()
	spec, err := absSpec(spec.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	p := newProgress(log, spec)
	k, err := s.getSpec(ctx, spec, p)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	k.Spec = spec.String()
	if err := s.moduleRoute(ctx, k, p); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	if k.HasGcov() {
		k.ModuleMakeArgs = append(k.ModuleMakeArgs, GcovProfileArg)
	}
	if k.Dir != "" {
		k.LastUsed = s.markUsed(filepath.Join("kernels", k.Key))
	}
	p.printf("ready in %s: %s, image %s", since(start), k.Summary(), k.Image)
	if k.CompilerMismatch != "" {
		p.printf("warning: %s", k.CompilerMismatch)
	}
	return k, nil
}

// fromArchive runs attempt with the store's apt configuration. It
// refreshes stale package lists first, and once more when attempt fails in
// a way fresher lists may cure; when Debian's archive cannot help, the
// newest stored kernel the spec matches is used.
func (s *Store) fromArchive(ctx context.Context, spec Spec, p *progress, attempt func(*apt) (*Kernel, error)) (*Kernel, error) {
	a, err := s.apt(ctx, spec.arch())
	if err != nil {
		return nil, err
	}
	seen, refreshed := a.listsTime(), false
	refresh := func(why string) error {
		refreshed = true
		return a.update(ctx, p, why, seen)
	}
	if why := stale(seen); why != "" {
		if err := refresh(why); errors.Is(err, ErrArchiveUnverified) {
			if k := s.newestStored(spec, false); k != nil {
				p.printf("warning: %v", err)
				p.printf("using the stored %s instead", k.Key)
				return k, nil
			}
			return nil, err
		} else if err != nil {
			p.printf("warning: %v", err)
		}
	}
	for {
		k, err := attempt(a)
		if err == nil || ctx.Err() != nil {
			return k, err
		}
		if why := retryReason(err, seen); why != "" && !refreshed {
			if uerr := refresh(why); uerr == nil {
				continue
			} else {
				err = fmt.Errorf("%w\n(refreshing the package lists failed too: %v)", err, uerr)
			}
		}
		var berr *BuildError
		var cerr *CrossCompilerError
		if errors.As(err, &berr) || errors.As(err, &cerr) {
			return nil, err // a build failure is no archive's; a stored kernel would hide it
		}
		if k := s.newestStored(spec, false); k != nil {
			p.printf("warning: %v", err)
			p.printf("using the stored %s instead", k.Key)
			return k, nil
		}
		return nil, err
	}
}

// minRetryAge is how old the lists must be for a failure to refresh them:
// younger lists hold what the archive has, and a mistyped spec should not
// cost an update on every run.
const minRetryAge = 10 * time.Minute

// retryReason says why err, met with lists updated at seen, calls for
// refreshing them, or returns "". Stale lists name packages the archive
// has since dropped, or lack new ones.
func retryReason(err error, seen time.Time) string {
	if time.Since(seen) < minRetryAge {
		return ""
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return "no match in lists updated " + seen.Format(time.DateTime)
	case errors.Is(err, errDownload):
		return "a download failed with lists updated " + seen.Format(time.DateTime)
	}
	return ""
}

// Resolve finds the packages a spec names without downloading them,
// refreshing the package lists when they are stale: for debian:, the
// kernel's packages; for debian-src:, the linux-source package.
func (s *Store) Resolve(ctx context.Context, spec Spec, log io.Writer) (*Resolved, error) {
	spec = spec.withDefaults()
	p := newProgress(log, spec)
	src, err := packageSourceOf(spec, "resolve to packages")
	if err != nil {
		return nil, err
	}
	resolve := func(ctx context.Context, a *apt, spec Spec, p *progress) (*Resolved, error) {
		return src.resolve(ctx, s, a, spec, p)
	}
	a, err := s.apt(ctx, spec.arch())
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	seen, refreshed := a.listsTime(), false
	if why := stale(seen); why != "" {
		refreshed = true
		if err := a.update(ctx, p, why, seen); errors.Is(err, ErrArchiveUnverified) {
			return nil, fmt.Errorf("kernel %s: %w", spec, err)
		} else if err != nil {
			p.printf("warning: %v", err)
		}
	}
	r, err := resolve(ctx, a, spec, p)
	if why := retryReason(err, seen); why != "" && !refreshed {
		if uerr := a.update(ctx, p, why, seen); uerr != nil {
			err = fmt.Errorf("%w\n(refreshing the package lists failed too: %v)", err, uerr)
		} else {
			r, err = resolve(ctx, a, spec, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	return r, nil
}

// entries lists the store's folder name (kernels, toolchains): its path and
// its entries, none when it does not exist yet.
func (s *Store) entries(name string) (string, []os.DirEntry, error) {
	dir, err := s.path(name)
	if err != nil {
		return "", nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return dir, nil, nil
	}
	return dir, ents, err
}

// List returns the kernels in the store, newest release first. Entries
// without a valid manifest are left out.
func (s *Store) List() ([]*Kernel, error) {
	dir, ents, err := s.entries("kernels")
	if err != nil {
		return nil, err
	}
	var ks []*Kernel
	for _, e := range ents {
		if k, err := load(filepath.Join(dir, e.Name()), false); err == nil {
			k.LastUsed = s.lastUsed(k)
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b *Kernel) int {
		if c := debpkg.Compare(b.Release, a.Release); c != 0 {
			return c
		}
		if c := debpkg.Compare(b.PackageVersion, a.PackageVersion); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return ks, nil
}

// newestStored returns the newest stored kernel a spec matches, verified.
// Like resolving, it prefers Debian kernels built with the host's gcc;
// for kernels built here, exact takes only those built with the current
// fragments and gcc, and otherwise they come first.
func (s *Store) newestStored(spec Spec, exact bool) *Kernel {
	ks, _ := s.List()
	var frag *kconfig.Fragment
	var cc string
	if spec.built() {
		frag, cc, _ = buildInputs(spec)
	}
	current := func(k *Kernel) bool {
		switch {
		case !spec.built():
			return k.CompilerMismatch == ""
		case frag == nil:
			return false
		}
		return k.ConfigHash == frag.Hash(buildRecipe) && k.Compiler == "gcc "+cc
	}
	for _, best := range []bool{true, false} {
		for _, k := range ks {
			if matches(spec, k) && current(k) == best {
				if k, err := load(k.Dir, true); err == nil {
					return k
				}
			}
		}
		if exact && spec.built() {
			break
		}
	}
	return nil
}

// matches reports whether a stored kernel is one a spec names.
func matches(spec Spec, k *Kernel) bool {
	src := sourceOf(k)
	return src != nil && src.name() == spec.Source && src.matches(spec, k)
}

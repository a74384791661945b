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
)

// Kernel is a resolved, unpacked kernel, ready to boot and to build modules
// against. Paths are absolute.
type Kernel struct {
	Spec           string    `json:"spec"`            // asked for; in List, the one that built it
	Release        string    `json:"release"`         // uname -r, "6.1.0-57-amd64"
	PackageVersion string    `json:"package_version"` // Debian's, "6.1.192-3"
	Packages       []Package `json:"packages"`        // exactly what was unpacked
	Suites         []string  `json:"suites"`          // where PackageVersion was found
	Dir            string    `json:"dir,omitempty"`   // the cache entry

	// Image is what QEMU's -kernel takes: Vmlinux when it has a PVH entry
	// point (direct boot, no decompression in the guest), else BzImage,
	// with ImageFallback saying why.
	Image         string `json:"image"`
	ImageFallback string `json:"image_fallback,omitempty"`
	BzImage       string `json:"bzimage"`
	Vmlinux       string `json:"vmlinux,omitempty"` // extracted from BzImage; "" if that failed
	PVH           bool   `json:"pvh"`               // Vmlinux has XEN_ELFNOTE_PHYS32_ENTRY

	Config string `json:"config"`
	// SystemMap is empty when the package ships only Debian's placeholder
	// (the real map is in the -dbg package).
	SystemMap string `json:"system_map,omitempty"`
	// BuildDir is a kbuild tree: make -C BuildDir M=DIR modules.
	BuildDir string `json:"build_dir"`
	// CC is CONFIG_CC_VERSION_TEXT, the compiler the kernel was built with.
	CC string `json:"cc"`
	// CompilerMismatch, when not empty, says why modules will not build
	// with the host's gcc. It is worked out on this host at each Get.
	CompilerMismatch string `json:"compiler_mismatch,omitempty"`
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

func (s *Store) apt(ctx context.Context) (*apt, error) {
	dir, err := s.path("apt")
	if err != nil {
		return nil, err
	}
	locks, _ := s.path("locks", "apt.lock")
	a := &apt{dir: dir, lock: locks, run: s.run}
	if a.run == nil {
		a.run = execRunner
	}
	if err := a.prepare(ctx); err != nil {
		return nil, fmt.Errorf("preparing the apt configuration in %s: %w", dir, err)
	}
	return a, nil
}

// Get returns the kernel a spec names, downloading and preparing it unless
// the store has it. It writes progress to log, which may be nil.
//
// With fresh package lists (under a day old) and the kernel in the store,
// Get does no network I/O. An exact spec found in the store needs no lists
// at all, and when Debian's archive cannot be reached the newest stored
// kernel that matches the spec is used.
func (s *Store) Get(ctx context.Context, spec Spec, log io.Writer) (*Kernel, error) {
	start := time.Now()
	spec = spec.withDefaults()
	p := newProgress(log, spec)
	k, err := s.get(ctx, spec, p)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	k.Spec = spec.String()
	p.printf("ready in %s: %s (%s), image %s", since(start), k.Release, k.PackageVersion, k.Image)
	if k.CompilerMismatch != "" {
		p.printf("warning: %s", k.CompilerMismatch)
	}
	return k, nil
}

func (s *Store) get(ctx context.Context, spec Spec, p *progress) (*Kernel, error) {
	if spec.Source != "debian" || spec.Series == "" && spec.Exact == "" {
		return nil, fmt.Errorf("unsupported spec %+v: build specs with ParseSpec", spec)
	}
	if spec.Exact != "" {
		if k := s.newestStored(spec); k != nil {
			p.printf("using the stored %s@%s", k.Release, k.PackageVersion)
			return k, nil
		}
	}
	a, err := s.apt(ctx)
	if err != nil {
		return nil, err
	}
	seen, refreshed := a.listsTime(), false
	refresh := func(why string) error {
		refreshed = true
		return a.update(ctx, p, why, seen)
	}
	if why := stale(seen); why != "" {
		if err := refresh(why); err != nil {
			p.printf("warning: %v", err)
		}
	}
	for {
		var k *Kernel
		r, err := s.resolve(ctx, a, spec, p)
		if err == nil {
			k, err = s.ensure(ctx, r.key(), p, func(root string) (*Kernel, error) {
				k, err := s.build(ctx, a, r, root, p)
				if k != nil {
					k.Spec = spec.String()
				}
				return k, err
			})
		}
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
		if k := s.newestStored(spec); k != nil {
			p.printf("warning: %v", err)
			p.printf("using the stored %s@%s instead", k.Release, k.PackageVersion)
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
// refreshing the package lists when they are stale.
func (s *Store) Resolve(ctx context.Context, spec Spec, log io.Writer) (*Resolved, error) {
	spec = spec.withDefaults()
	p := newProgress(log, spec)
	a, err := s.apt(ctx)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	seen, refreshed := a.listsTime(), false
	if why := stale(seen); why != "" {
		refreshed = true
		if err := a.update(ctx, p, why, seen); err != nil {
			p.printf("warning: %v", err)
		}
	}
	r, err := s.resolve(ctx, a, spec, p)
	if why := retryReason(err, seen); why != "" && !refreshed {
		if uerr := a.update(ctx, p, why, seen); uerr != nil {
			err = fmt.Errorf("%w\n(refreshing the package lists failed too: %v)", err, uerr)
		} else {
			r, err = s.resolve(ctx, a, spec, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec, err)
	}
	return r, nil
}

func (s *Store) resolve(ctx context.Context, a *apt, spec Spec, p *progress) (*Resolved, error) {
	start := time.Now()
	host, _ := hostGCC()
	r, err := resolve(ctx, a, spec, host)
	if err != nil {
		return nil, fmt.Errorf("resolving: %w", err)
	}
	p.printf("resolved to %s %s (%s; %s) in %s", r.ImagePackage, r.PackageVersion,
		strings.Join(r.Suites, ", "), orNone(r.Compiler), since(start))
	return r, nil
}

// List returns the kernels in the store, newest release first. Entries
// without a valid manifest are left out.
func (s *Store) List() ([]*Kernel, error) {
	dir, err := s.path("kernels")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ks []*Kernel
	for _, e := range ents {
		if k, err := load(filepath.Join(dir, e.Name()), false); err == nil {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b *Kernel) int {
		if c := compareVersions(b.Release, a.Release); c != 0 {
			return c
		}
		return compareVersions(b.PackageVersion, a.PackageVersion)
	})
	return ks, nil
}

// newestStored returns the newest stored kernel a spec matches, verified,
// preferring, as resolving does, kernels built with the host's gcc.
func (s *Store) newestStored(spec Spec) *Kernel {
	ks, _ := s.List()
	for _, hostCC := range []bool{true, false} {
		for _, k := range ks {
			if matches(spec, k) && (k.CompilerMismatch == "") == hostCC {
				if k, err := load(k.Dir, true); err == nil {
					return k
				}
			}
		}
	}
	return nil
}

// matches reports whether a stored kernel is one a spec names.
func matches(spec Spec, k *Kernel) bool {
	abi, ok := strings.CutSuffix(k.Release, "-"+spec.Flavour)
	if !ok || seriesOf(abi) != spec.series() {
		return false
	}
	if spec.Exact != "" {
		return abi == spec.Exact || k.PackageVersion == spec.Exact
	}
	if spec.Dist != 0 {
		return (&candidate{abi: abi, suites: k.Suites}).dist() == spec.Dist
	}
	return true
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/debpkg"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// debianSrcSource is debian-src:, Debian's linux-source package built here
// with a config flavour:
//
//	debian-src:VERSION
//
// VERSION is a series (6.12), a series for a Debian release (6.12+deb12) or
// a version of the linux-source package (6.12.118-1).
type debianSrcSource struct{}

func (debianSrcSource) name() string { return SourceDebianSrc }
func (debianSrcSource) built() bool  { return true }

func (debianSrcSource) parse(spec *Spec, arg string) error {
	for _, f := range packageFlavours {
		if strings.HasSuffix(arg, "-"+f) {
			return fmt.Errorf("package flavour -%s: debian-src: builds Debian's source with a config flavour here; Debian's own -%s kernels are debian:%s", f, f, arg)
		}
	}
	return parseVersionArg(spec, arg)
}

func (debianSrcSource) argument(spec Spec) string { return versionArg(spec) }

func (debianSrcSource) describe(k *Kernel) (summary, version string) {
	return fmt.Sprintf("%s (debian-src %s, %s config %s, %s)", k.Release, k.PackageVersion, k.Flavour, k.ConfigHash, k.Compiler),
		k.PackageVersion + " " + k.Flavour + "/" + k.ConfigHash
}

func (debianSrcSource) named(k *Kernel) Spec {
	return Spec{Source: SourceDebianSrc, Exact: k.PackageVersion, Flavour: k.Flavour}
}

func (debianSrcSource) matches(spec Spec, k *Kernel) bool {
	switch {
	case k.Flavour != spec.Flavour || seriesOf(k.PackageVersion) != spec.series():
		return false
	case spec.Exact != "":
		return k.PackageVersion == spec.Exact
	case spec.Dist != 0:
		return slices.ContainsFunc(k.Suites, func(s string) bool { return suiteRelease(s) == spec.Dist })
	}
	return true
}

func (debianSrcSource) versions(ctx context.Context, a *apt, spec Spec) ([]string, error) {
	out, err := a.cache(ctx, "madison", "linux-source-"+spec.Series)
	if err != nil {
		return nil, err
	}
	var versions []string
	for _, f := range parseMadison(out) {
		if spec.Dist == 0 || suiteRelease(f.suite) == spec.Dist {
			versions = append(versions, f.pkg.Version)
		}
	}
	return versions, nil
}

// get returns the kernel built from Debian's linux-source package that a
// debian-src: spec names.
func (debianSrcSource) get(ctx context.Context, s *Store, spec Spec, p *progress) (*Kernel, error) {
	frag, cc, err := buildInputs(spec)
	if err != nil {
		return nil, err
	}
	if spec.Exact != "" {
		key := sourceKey(debpkg.Upstream(spec.Exact), "debian-src-"+spec.Exact, spec.Flavour, frag.Hash(buildRecipe), cc)
		if dir, err := s.path("kernels", key); err == nil {
			if k, err := load(dir, true); err == nil {
				p.printf("using the stored %s", key)
				return k, nil
			}
		}
	}
	return s.fromArchive(ctx, spec, p, func(a *apt) (*Kernel, error) {
		r, err := debianSrcSource{}.resolve(ctx, s, a, spec, p)
		if err != nil {
			return nil, err
		}
		key := sourceKey(debpkg.Upstream(r.PackageVersion), "debian-src-"+r.PackageVersion, spec.Flavour, frag.Hash(buildRecipe), cc)
		return s.ensure(ctx, key, p, func(root string) (*Kernel, error) {
			k := &Kernel{Spec: spec.String(), Source: SourceDebianSrc, PackageVersion: r.PackageVersion, Packages: r.Packages, Suites: r.Suites}
			src := filepath.Join(root, "src")
			if err := s.fetchSource(ctx, a, r, key, src, p); err != nil {
				return nil, err
			}
			return k, s.buildSource(ctx, key, src, frag, cc, root, k, p)
		})
	})
}

func (debianSrcSource) resolve(ctx context.Context, s *Store, a *apt, spec Spec, p *progress) (*Resolved, error) {
	start := time.Now()
	r, cached, err := s.cachedResolve(ctx, a, resolveKey(SourceDebianSrc, spec, 0), func() (*Resolved, error) {
		return resolveSource(ctx, a, spec)
	})
	if err != nil {
		return nil, fmt.Errorf("resolving: %w", err)
	}
	p.printf("resolved to %s (%s) in %s%s", r.Packages[0], strings.Join(r.Suites, ", "), since(start), cachedNote(cached))
	return r, nil
}

// resolveSource finds the linux-source package a debian-src: spec names,
// from the lists on disk.
func resolveSource(ctx context.Context, a *apt, spec Spec) (*Resolved, error) {
	name := "linux-source-" + spec.series()
	out, err := a.cache(ctx, "madison", name)
	if err != nil {
		return nil, err
	}
	suitesOf := map[string][]string{}
	var versions []string
	for _, f := range parseMadison(out) {
		if f.pkg.Name != name {
			continue
		}
		if spec.Exact != "" && f.pkg.Version != spec.Exact || spec.Dist != 0 && suiteRelease(f.suite) != spec.Dist {
			continue
		}
		if suitesOf[f.pkg.Version] == nil {
			versions = append(versions, f.pkg.Version)
		}
		suitesOf[f.pkg.Version] = append(suitesOf[f.pkg.Version], f.suite)
	}
	if len(versions) == 0 {
		return nil, sourceNotFound(ctx, a, spec, name)
	}
	slices.SortFunc(versions, func(x, y string) int { return debpkg.Compare(y, x) })
	pkg := Package{Name: name, Version: versions[0]}
	out, err = a.cache(ctx, "show", pkg.String())
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", pkg, err)
	}
	for _, st := range debpkg.ParseStanzas(out) {
		if st["Package"] == pkg.Name && st["Version"] == pkg.Version {
			pkg.Size, _ = strconv.ParseInt(st["Size"], 10, 64)
		}
	}
	suites := suitesOf[pkg.Version]
	slices.Sort(suites)
	return &Resolved{
		Spec:           spec.String(),
		ImagePackage:   name,
		PackageVersion: pkg.Version,
		Suites:         slices.Compact(suites),
		Packages:       []Package{pkg},
	}, nil
}

func sourceNotFound(ctx context.Context, a *apt, spec Spec, name string) error {
	what := name
	switch {
	case spec.Exact != "":
		what += " " + spec.Exact
	case spec.Dist != 0:
		what += fmt.Sprintf(" for Debian %d", spec.Dist)
	}
	var have []string
	if out, err := a.cache(ctx, "pkgnames", "linux-source-"); err == nil {
		for _, n := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(n, "linux-source-"); ok && seriesRE.MatchString(v) {
				have = append(have, v)
			}
		}
	}
	slices.SortFunc(have, debpkg.Compare)
	return fmt.Errorf("%w: no %s in Debian's archive (searched %s…%s); source series there: %s",
		ErrNotFound, what, suites[0].name, suites[len(suites)-1].name, strings.Join(have, ", "))
}

// fetchSource downloads a linux-source package and unpacks its tarball
// into dst.
func (s *Store) fetchSource(ctx context.Context, a *apt, r *Resolved, key, dst string, p *progress) error {
	tmpDir, _ := s.path("tmp")
	work, err := os.MkdirTemp(tmpDir, key+".debs.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	pkg := r.Packages[0]
	p.printf("downloading %s (%s)", pkg, megabytes(pkg.Size))
	start := time.Now()
	stop := p.every(progressInterval, func() string {
		n, _ := fsutil.DirSize(work)
		return fmt.Sprintf("downloading: %s of %s", megabytes(n), megabytes(pkg.Size))
	})
	err = a.download(ctx, work, r.Packages)
	stop()
	if err != nil {
		return fmt.Errorf("%w: %w", errDownload, err)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("%w: apt-get download left %d .deb files, want 1", errDownload, len(debs))
	}
	p.printf("downloaded in %s", since(start))

	start = time.Now()
	unpacked := filepath.Join(work, "root")
	if err := os.MkdirAll(unpacked, 0o755); err != nil {
		return err
	}
	if err := unpackDeb(ctx, debs[0], unpacked, "usr/src/", nil); err != nil {
		return fmt.Errorf("unpacking %s: %w", filepath.Base(debs[0]), err)
	}
	tarballs, _ := filepath.Glob(filepath.Join(unpacked, "usr/src/linux-source-*.tar.*"))
	if len(tarballs) != 1 {
		return fmt.Errorf("%s holds %d usr/src/linux-source-*.tar.* files, want 1", pkg, len(tarballs))
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	stop = p.every(progressInterval, func() string {
		n, _ := fsutil.DirSize(dst)
		return fmt.Sprintf("unpacking the source: %s so far", megabytes(n))
	})
	_, _, err = execRunner(ctx, "", "tar", "-xf", tarballs[0], "-C", dst, "--strip-components=1")
	stop()
	if err != nil {
		return fmt.Errorf("unpacking the source: %w", err)
	}
	p.printf("unpacked the source in %s", since(start))
	return nil
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"fmt"
)

// source is one kind of kernel source: it reads its part of a spec, gets
// the kernel, and describes and recognises the kernels it made. Each is
// one file (source_debian.go, source_debiansrc.go, source_src.go,
// source_path.go), registered below; adding a source is one more file and
// one more line there. The spec grammar around the argument (the
// "SOURCE:" prefix and the "@" qualifiers) is spec.go's.
type source interface {
	// name is the spec's prefix, without the colon.
	name() string
	// built reports whether the source's kernels are built here from
	// source, and so take a config flavour.
	built() bool
	// parse reads the argument (what follows "SOURCE:", qualifiers cut
	// off) into spec; argument is its inverse.
	parse(spec *Spec, arg string) error
	argument(spec Spec) string
	// get returns the kernel spec names (defaults filled in, paths
	// absolute), fetching or building it into the store as needed.
	get(ctx context.Context, s *Store, spec Spec, p *progress) (*Kernel, error)
	// describe says which kernel k is (the Summary line) and what tells it
	// apart from other kernels of its release (the version column of the
	// store's listing).
	describe(k *Kernel) (summary, version string)
	// named returns a spec naming the stored kernel k exactly, for
	// entries that did not record the spec that made them.
	named(k *Kernel) Spec
	// matches reports whether the stored kernel k is one spec names.
	matches(spec Spec, k *Kernel) bool
}

// packageSource is a source whose specs resolve to Debian packages, which
// Store.Resolve and Store.Versions work on.
type packageSource interface {
	source
	// resolve finds the packages spec names in the lists on disk.
	resolve(ctx context.Context, s *Store, a *apt, spec Spec, p *progress) (*Resolved, error)
	// versions lists the package versions of spec's series (and Dist).
	versions(ctx context.Context, a *apt, spec Spec) ([]string, error)
}

// sources are the registered sources by name; sourceNames keeps their order.
var (
	sources     = map[string]source{}
	sourceNames []string
)

func init() {
	for _, src := range []source{
		debianSource{},
		debianSrcSource{},
		treeSource{},
		pathSource{},
	} {
		registerSource(src)
	}
}

// registerSource adds a source; unregister removes it again (for tests).
func registerSource(src source) (unregister func()) {
	name := src.name()
	if sources[name] != nil {
		panic("kernel: source " + name + " registered twice")
	}
	sources[name] = src
	sourceNames = append(sourceNames, name)
	return func() {
		delete(sources, name)
		for i, n := range sourceNames {
			if n == name {
				sourceNames = append(sourceNames[:i:i], sourceNames[i+1:]...)
				break
			}
		}
	}
}

// sourceOf returns the source that made a stored kernel; entries from
// before other sources existed have no Source and are Debian's.
func sourceOf(k *Kernel) source {
	if k.Source == "" {
		return sources[SourceDebian]
	}
	return sources[k.Source]
}

// packageSourceOf returns spec's source if its specs resolve to packages.
func packageSourceOf(spec Spec, what string) (packageSource, error) {
	if ps, ok := sources[spec.Source].(packageSource); ok {
		return ps, nil
	}
	return nil, fmt.Errorf("kernel %s: only debian: and debian-src: specs %s", spec, what)
}

// Summary says which kernel k is in a line, for logs and reports:
// "6.1.0-57-amd64 (Debian 6.1.192-3)", "6.12.118 (debian-src 6.12.118-1,
// minimal config d3bf29751a84, gcc 12.2.0)".
func (k *Kernel) Summary() string {
	if src := sourceOf(k); src != nil {
		summary, _ := src.describe(k)
		return summary
	}
	return fmt.Sprintf("%s (%s)", k.Release, k.Source)
}

// Version is what tells k apart from other kernels of its release: Debian's
// package version, and for kernels built here the source's version or
// revision with the config flavour and hash ("6.12.118-1 minimal/d3bf29751a84").
func (k *Kernel) Version() string {
	if src := sourceOf(k); src != nil {
		_, version := src.describe(k)
		return version
	}
	return k.PackageVersion
}

// NamedBy returns the spec that made k, or, for a stored kernel that did
// not record it, an exact spec that names it.
func (k *Kernel) NamedBy() Spec {
	if spec, err := ParseSpec(k.Spec); err == nil {
		return spec
	}
	if src := sourceOf(k); src != nil {
		return src.named(k)
	}
	return Spec{Source: k.Source}
}

// getSpec dispatches Get to the spec's source.
func (s *Store) getSpec(ctx context.Context, spec Spec, p *progress) (*Kernel, error) {
	// A Spec built by hand must be one the grammar can write: that is what
	// is recorded with the kernel, and what every source expects.
	if again, err := ParseSpec(spec.String()); err != nil || again != spec {
		return nil, fmt.Errorf("%+v is no spec the grammar can write (build specs with ParseSpec)", spec)
	}
	return sources[spec.Source].get(ctx, s, spec, p)
}

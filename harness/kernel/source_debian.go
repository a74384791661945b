// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// debianSource is debian:, Debian's own kernel packages: the image, its
// headers and linux-kbuild, unpacked into the store.
//
//	debian:VERSION[-PACKAGE_FLAVOUR]
//
// VERSION is a series (6.1), a series for a Debian release (6.12+deb13),
// an ABI (6.1.0-57, 6.12.57+deb12, 6.1.0-0.deb11.48) or a package version
// (6.1.170-1); PACKAGE_FLAVOUR is one of [PackageFlavours], written as in
// Debian's package names (linux-image-6.1.0-57-rt-amd64).
type debianSource struct{}

// packageFlavours are the flavours Debian builds besides each
// architecture's default kernel, as in linux-image-ABI-FLAVOUR-ARCH. The
// package lists of amd64 show them: linux-image-*-rt-amd64-unsigned
// (PREEMPT_RT) and linux-image-*-cloud-amd64-unsigned.
var packageFlavours = []string{"cloud", "rt"}

// PackageFlavours returns the Debian package flavours a debian: spec can
// name after its version (debian:6.1-rt, debian:6.1.0-57-cloud).
func PackageFlavours() []string { return slices.Clone(packageFlavours) }

var wordSuffixRE = regexp.MustCompile(`^[0-9][^@]*-([a-z]+)$`)

func (debianSource) name() string { return SourceDebian }
func (debianSource) built() bool  { return false }

func (debianSource) parse(spec *Spec, arg string) error {
	for _, f := range packageFlavours {
		if v, ok := strings.CutSuffix(arg, "-"+f); ok {
			arg, spec.Package = v, f
			return parseVersionArg(spec, arg)
		}
	}
	// Debian's versions and ABIs end in a digit, but for the ABI of
	// experimental's snapshots (6.19.0-trunk): another word there is a
	// mistyped flavour.
	if m := wordSuffixRE.FindStringSubmatch(arg); m != nil && m[1] != "trunk" {
		return fmt.Errorf("unknown package flavour %q: want one of %s", m[1], strings.Join(packageFlavours, ", "))
	}
	return parseVersionArg(spec, arg)
}

func (debianSource) argument(spec Spec) string {
	if spec.Package != "" {
		return versionArg(spec) + "-" + spec.Package
	}
	return versionArg(spec)
}

// debFlavour is the flavour part of Debian's package names and releases:
// "amd64", "rt-amd64".
func debFlavour(spec Spec) string {
	if spec.Package != "" {
		return spec.Package + "-" + spec.arch()
	}
	return spec.arch()
}

func (debianSource) get(ctx context.Context, s *Store, spec Spec, p *progress) (*Kernel, error) {
	if spec.Exact != "" {
		if k := s.newestStored(spec, true); k != nil {
			p.printf("using the stored %s@%s", k.Release, k.PackageVersion)
			return k, nil
		}
	}
	return s.fromArchive(ctx, spec, p, func(a *apt) (*Kernel, error) {
		r, err := debianSource{}.resolve(ctx, s, a, spec, p)
		if err != nil {
			return nil, err
		}
		return s.ensure(ctx, r.key(), p, func(root string) (*Kernel, error) {
			k, err := s.build(ctx, a, r, root, p)
			if k != nil {
				k.Spec = spec.String()
			}
			return k, err
		})
	})
}

func (debianSource) resolve(ctx context.Context, s *Store, a *apt, spec Spec, p *progress) (*Resolved, error) {
	start := time.Now()
	host, _ := hostGCC()
	r, cached, err := s.cachedResolve(ctx, a, resolveKey(SourceDebian, spec, host), func() (*Resolved, error) {
		return resolve(ctx, a, spec, host)
	})
	if err != nil {
		return nil, fmt.Errorf("resolving: %w", err)
	}
	p.printf("resolved to %s %s (%s; %s) in %s%s", r.ImagePackage, r.PackageVersion,
		strings.Join(r.Suites, ", "), orNone(r.Compiler), since(start), cachedNote(cached))
	if err := crossCompilerFits(spec, r.Compiler); err != nil {
		return nil, err
	}
	return r, nil
}

func (debianSource) versions(ctx context.Context, a *apt, spec Spec) ([]string, error) {
	cands, err := seriesCandidates(ctx, a, spec)
	if err != nil {
		return nil, err
	}
	var versions []string
	for _, c := range cands {
		if spec.Dist == 0 || c.dist() == spec.Dist {
			versions = append(versions, c.version)
		}
	}
	return versions, nil
}

func (debianSource) describe(k *Kernel) (summary, version string) {
	if spec, _ := releaseSpec(k.Release); spec.Package != "" {
		return fmt.Sprintf("%s (Debian %s, %s flavour)", k.Release, k.PackageVersion, spec.Package), k.PackageVersion
	}
	return fmt.Sprintf("%s (Debian %s)", k.Release, k.PackageVersion), k.PackageVersion
}

// releaseSpec splits a Debian kernel's release (6.1.0-57-rt-amd64,
// 6.1.0-57-arm64) into the spec naming its ABI exactly.
func releaseSpec(release string) (Spec, bool) {
	spec := Spec{Source: SourceDebian}
	var rest string
	ok := false
	for _, arch := range supportedArchs {
		if rest, ok = strings.CutSuffix(release, "-"+arch); ok {
			if arch != HostArch {
				spec.Arch = arch
			}
			break
		}
	}
	if !ok {
		return spec, false
	}
	for _, f := range packageFlavours {
		if abi, ok := strings.CutSuffix(rest, "-"+f); ok {
			rest, spec.Package = abi, f
			break
		}
	}
	spec.Exact = rest
	return spec, abiRE.MatchString(rest)
}

func (debianSource) named(k *Kernel) Spec {
	spec, _ := releaseSpec(k.Release)
	return spec
}

func (debianSource) matches(spec Spec, k *Kernel) bool {
	abi, ok := strings.CutSuffix(k.Release, "-"+debFlavour(spec))
	// 6.1.0-57-rt-amd64 ends in -amd64 too: the rest must be an ABI.
	if !ok || !abiRE.MatchString(abi) || seriesOf(abi) != spec.series() {
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

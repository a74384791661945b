// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/debpkg"
)

// ErrNotFound is returned, wrapped, when no Debian package matches a spec.
var ErrNotFound = errors.New("no matching kernel package")

// Package is one Debian package at an exact version.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Arch is the architecture of a foreign package (an arm64 kernel's
	// image and headers): "" for the host's and for Architecture: all.
	Arch string `json:"arch,omitempty"`
	Size int64  `json:"size,omitempty"` // bytes to download
}

// String returns name=version, or name:arch=version for a foreign
// package, as apt-get takes it.
func (p Package) String() string { return p.aptName() + "=" + p.Version }

// aptName is the name apt knows the package by in the store's
// multi-architecture lists: NAME, or NAME:ARCH for a foreign package.
func (p Package) aptName() string {
	if p.Arch == "" {
		return p.Name
	}
	return p.Name + ":" + p.Arch
}

// packageArch is the Arch of a package named in apt's output: "" for the
// host's architecture and for "all".
func packageArch(arch string) string {
	if arch == HostArch || arch == "all" {
		return ""
	}
	return arch
}

// splitArch splits apt's NAME:ARCH into a Package's name and Arch.
func splitArch(name string) (string, string) {
	n, arch, _ := strings.Cut(name, ":")
	return n, packageArch(arch)
}

// stanzaPackage is the package an apt-cache show stanza describes.
func stanzaPackage(st map[string]string) Package {
	return Package{Name: st["Package"], Version: st["Version"], Arch: packageArch(st["Architecture"])}
}

// dependencyArch is the architecture a kernel package's dependency d is
// got for when the image is for arch. Modules are built on this host, so
// linux-kbuild-* (fixdep, modpost, genksyms: programs that run during the
// build) is the host's, as Debian's linux-headers-*-arm64 Makefile allows
// (its .kernelvariables set CROSS_COMPILE when the build and host
// architectures differ); linux-headers-*-common is Architecture: all; the
// rest (linux-binary-*, linux-base-* of 7.x) is the image's.
func dependencyArch(d, arch string) string {
	switch {
	case strings.HasPrefix(d, "linux-kbuild-"):
		return ""
	case strings.HasPrefix(d, "linux-headers-") && (strings.HasSuffix(d, "-common") || strings.HasSuffix(d, "-common-rt")):
		return ""
	}
	return arch
}

// Resolved is a spec resolved to exact packages, before any download.
type Resolved struct {
	Spec           string
	Release        string // uname -r of the kernel
	ImagePackage   string // "linux-image-6.1.0-57-amd64-unsigned"
	PackageVersion string
	Suites         []string // suites carrying PackageVersion
	// Compiler is the compiler package the headers depend on, such as
	// "gcc-12"; modules must be built with it.
	Compiler string
	Packages []Package // image, headers and kbuild: what Get downloads
	// Arch is the kernel's architecture when it is not the host's.
	Arch string `json:",omitempty"`
}

// key names the kernel's cache entry.
func (r *Resolved) key() string { return r.Release + "@" + r.PackageVersion }

var (
	// abiRE matches the ABI part of Debian's kernel package names:
	// 5.10.0-32, 6.1.0-57, 6.1.0-0.deb11.52 (a backport), 6.12.57+deb12,
	// 6.12.115+deb13.1, 7.3 (an experimental release candidate),
	// 6.12.12+bpo (older backports).
	abiRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)(?:\.[0-9]+)?(?:-0\.deb[0-9]+\.[0-9]+|-[0-9]+|-trunk|-rc[0-9]+)?(?:\+deb[0-9]+(?:\.[0-9]+)?|\+bpo)?$`)
	// abiDistRE finds the Debian release in 6.12.57+deb12 and 6.1.0-0.deb11.52.
	abiDistRE   = regexp.MustCompile(`(?:\+|-0\.)deb([0-9]+)`)
	compilerRE  = regexp.MustCompile(`^(?:linux-compiler-)?(gcc|clang)-([0-9]+)(?:-for-host|-x86)?$`)
	kernelPkgRE = regexp.MustCompile(`^linux-(?:headers|kbuild|binary|base)-`)
)

// imageABI parses linux-image-ABI-FLAVOUR[-unsigned].
func imageABI(name, flavour string) (abi string, unsigned, ok bool) {
	rest, ok := strings.CutPrefix(name, "linux-image-")
	if !ok {
		return "", false, false
	}
	rest, unsigned = strings.CutSuffix(rest, "-unsigned")
	abi, ok = strings.CutSuffix(rest, "-"+flavour)
	return abi, unsigned, ok && abiRE.MatchString(abi)
}

// candidate is one kernel build found in the archive.
type candidate struct {
	abi, image, version string
	unsigned            bool
	suites              []string
	compiler            string // "gcc-12"; "" when the headers name none
	compilerMajor       int
	packages            []Package
	missing             []Package // packages the archive lacks: modules cannot be built
}

func (c *candidate) dist() int {
	if m := abiDistRE.FindStringSubmatch(c.abi); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, s := range c.suites {
		if r := suiteRelease(s); r != 0 {
			return r
		}
	}
	return 0
}

func (c *candidate) String() string {
	return fmt.Sprintf("%s %s (%s, %s)", c.image, c.version, strings.Join(c.suites, " "), orNone(c.compiler))
}

func orNone(s string) string {
	if s == "" {
		return "compiler unknown"
	}
	return s
}

// resolve finds the packages of the kernel a spec names, from the lists on
// disk: it does no network I/O.
func resolve(ctx context.Context, a *apt, spec Spec, hostGCC int) (*Resolved, error) {
	cands, err := seriesCandidates(ctx, a, spec)
	if err != nil {
		return nil, err
	}
	c, err := pick(cands, spec, hostGCC)
	if err != nil {
		return nil, err
	}
	// Look the whole set up: it gives the download size and proves every
	// package exists before anything is fetched.
	var sets []string
	for _, p := range c.packages {
		sets = append(sets, p.String())
	}
	out, err := a.cache(ctx, append([]string{"show"}, sets...)...)
	if err != nil {
		return nil, fmt.Errorf("looking up the packages of %s: %w", c.image, err)
	}
	sizes := map[Package]int64{}
	for _, st := range debpkg.ParseStanzas(out) {
		size, _ := strconv.ParseInt(st["Size"], 10, 64)
		sizes[stanzaPackage(st)] = size
	}
	r := &Resolved{
		Spec:           spec.String(),
		Release:        c.abi + "-" + debFlavour(spec),
		ImagePackage:   c.image,
		PackageVersion: c.version,
		Suites:         c.suites,
		Compiler:       c.compiler,
		Arch:           packageArch(spec.arch()),
	}
	for _, p := range c.packages {
		p.Size = sizes[p]
		r.Packages = append(r.Packages, p)
	}
	return r, nil
}

// seriesCandidates returns every kernel of spec's series the lists hold
// with its headers.
func seriesCandidates(ctx context.Context, a *apt, spec Spec) ([]*candidate, error) {
	series := spec.series()
	out, err := a.cache(ctx, "pkgnames", "linux-image-")
	if err != nil {
		return nil, err
	}
	var names []string
	allSeries := map[string]bool{}
	arch := packageArch(spec.arch())
	for _, name := range strings.Fields(string(out)) {
		abi, _, ok := imageABI(name, debFlavour(spec))
		if !ok {
			continue
		}
		allSeries[seriesOf(abi)] = true
		if seriesOf(abi) == series {
			names = append(names, Package{Name: name, Arch: arch}.aptName(),
				Package{Name: "linux-headers-" + abi + "-" + debFlavour(spec), Arch: arch}.aptName())
		}
	}
	if len(names) == 0 {
		known := slices.SortedFunc(maps.Keys(allSeries), debpkg.Compare)
		return nil, fmt.Errorf("%w: no linux-image-%s* package for %s in Debian's archive (searched %s…%s); series there: %s",
			ErrNotFound, series, debFlavour(spec), suites[0].name, suites[len(suites)-1].name, strings.Join(known, ", "))
	}
	if out, err = a.cache(ctx, append([]string{"madison"}, names...)...); err != nil {
		return nil, err
	}
	found := parseMadison(out)
	var versions []string
	for _, f := range found {
		versions = append(versions, f.pkg.String())
	}
	slices.Sort(versions)
	versions = slices.Compact(versions)
	if out, err = a.cache(ctx, append([]string{"show"}, versions...)...); err != nil {
		return nil, err
	}
	cands := candidates(debFlavour(spec), found, debpkg.ParseStanzas(out))
	// Every package a kernel needs must be in the archive at the image's
	// version. The archive keeps old images longer than their
	// linux-kbuild (bullseye-security's 6.1.0-0.deb11.48 at
	// 6.1.172-1~deb11u1 outlived linux-kbuild-6.1 6.1.172-1~deb11u1), and
	// modules cannot be built for those.
	have := map[Package]bool{}
	for _, f := range found {
		have[f.pkg] = true
	}
	var more []string
	for _, c := range cands {
		for _, p := range c.packages {
			if !have[p] && !slices.Contains(more, p.aptName()) {
				more = append(more, p.aptName())
			}
		}
	}
	if len(more) > 0 {
		slices.Sort(more)
		if out, err = a.cache(ctx, append([]string{"madison"}, more...)...); err != nil {
			return nil, err
		}
		for _, f := range parseMadison(out) {
			have[f.pkg] = true
		}
	}
	for _, c := range cands {
		for _, p := range c.packages {
			if !have[p] {
				c.missing = append(c.missing, p)
			}
		}
	}
	return cands, nil
}

// UnbuildableError is a Debian kernel that is still in the archive but
// that modules can no longer be built for, because packages its headers
// need at its version (its linux-kbuild) are gone. Nothing was downloaded.
// Bisecting over Debian's versions counts such a kernel as untestable.
type UnbuildableError struct {
	Kernel  string    // the image package and version: "linux-image-6.1.0-0.deb11.48-amd64-unsigned 6.1.172-1~deb11u1"
	Missing []Package // what the archive no longer has
	// Newest is the spec of the newest kernel of the series that can be
	// built for, preferring the same Debian release ("debian:6.1.0-0.deb11.52");
	// "" when there is none.
	Newest string
}

func (e *UnbuildableError) Error() string {
	var missing []string
	for _, p := range e.Missing {
		missing = append(missing, p.Name+" "+p.Version)
	}
	msg := fmt.Sprintf("%s cannot build modules: Debian's archive no longer has %s (it keeps old images longer than their linux-kbuild)",
		e.Kernel, strings.Join(missing, ", "))
	if e.Newest != "" {
		return msg + "; the newest kernel of the series that can is " + e.Newest
	}
	return msg + "; no kernel of the series can"
}

// candidates pairs each kernel image with its headers and the packages they
// depend on. Meta-packages (linux-image-6.1-amd64 depends on the newest
// linux-image-6.1.0-NN-amd64) and images without headers are dropped.
func candidates(flavour string, found []available, stanzas []map[string]string) []*candidate {
	byPkg := map[Package]map[string]string{}
	for _, st := range stanzas {
		byPkg[stanzaPackage(st)] = st
	}
	suitesOf := map[Package][]string{}
	for _, f := range found {
		suitesOf[f.pkg] = append(suitesOf[f.pkg], f.suite)
	}
	best := map[string]*candidate{} // by abi and version
	for key, suites := range suitesOf {
		abi, unsigned, ok := imageABI(key.Name, flavour)
		headersPkg := Package{Name: "linux-headers-" + abi + "-" + flavour, Version: key.Version, Arch: key.Arch}
		image, headers := byPkg[key], byPkg[headersPkg]
		if !ok || image == nil || headers == nil || slices.ContainsFunc(debpkg.Depends(image["Depends"]), isImage) {
			continue
		}
		c := &candidate{abi: abi, image: key.Name, version: key.Version, unsigned: unsigned, suites: suites}
		slices.Sort(c.suites)
		c.suites = slices.Compact(c.suites)
		c.packages = []Package{key}
		// The 7.x packages split the image: linux-image-X depends on
		// linux-binary-X (vmlinuz) and linux-base-X (config, System.map);
		// linux-modules-X is not needed to boot from an initramfs.
		for _, d := range append(debpkg.Depends(image["Depends"]), debpkg.Depends(headers["Depends"])...) {
			if m := compilerRE.FindStringSubmatch(d); m != nil {
				c.compiler = m[1] + "-" + m[2]
				c.compilerMajor, _ = strconv.Atoi(m[2])
			}
			if kernelPkgRE.MatchString(d) {
				c.packages = append(c.packages, Package{Name: d, Version: key.Version, Arch: dependencyArch(d, key.Arch)})
			}
		}
		c.packages = append(c.packages, headersPkg)
		slices.SortFunc(c.packages, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
		c.packages = slices.Compact(c.packages)
		id := abi + "=" + key.Version
		if old := best[id]; old == nil || (c.unsigned && !old.unsigned) {
			best[id] = c
		}
	}
	return slices.Collect(maps.Values(best))
}

func isImage(dep string) bool { return strings.HasPrefix(dep, "linux-image-") }

// pick chooses the candidate a spec names: with no Dist, the newest built
// with the host's gcc (so modules build here), else the newest.
func pick(cands []*candidate, spec Spec, hostGCC int) (*candidate, error) {
	var ok, rejected, unbuildable []*candidate
	for _, c := range cands {
		switch {
		case spec.Exact != "" && c.abi != spec.Exact && c.version != spec.Exact,
			spec.Dist != 0 && c.dist() != spec.Dist:
			rejected = append(rejected, c)
		case len(c.missing) > 0:
			unbuildable = append(unbuildable, c)
		default:
			ok = append(ok, c)
		}
	}
	newestFirst := func(a, b *candidate) int {
		if spec.Dist == 0 && hostGCC != 0 {
			if am, bm := a.compilerMajor == hostGCC, b.compilerMajor == hostGCC; am != bm {
				if am {
					return -1
				}
				return 1
			}
		}
		if c := debpkg.Compare(b.version, a.version); c != 0 {
			return c
		}
		return strings.Compare(b.abi, a.abi)
	}
	if len(ok) == 0 && len(unbuildable) > 0 && spec.Exact != "" {
		c := unbuildable[0]
		e := &UnbuildableError{Kernel: c.image + " " + c.version, Missing: c.missing}
		slices.SortFunc(rejected, newestFirst)
		for _, sameDist := range []bool{true, false} {
			i := slices.IndexFunc(rejected, func(r *candidate) bool {
				return len(r.missing) == 0 && (!sameDist || r.dist() == c.dist())
			})
			if i >= 0 {
				n := spec
				n.Exact = rejected[i].abi
				e.Newest = fmt.Sprintf("%s (%s)", n, rejected[i].version)
				break
			}
		}
		return nil, e
	}
	if len(ok) == 0 {
		rejected = append(rejected, unbuildable...)
		slices.SortFunc(rejected, newestFirst)
		var have []string
		for _, c := range rejected[:min(len(rejected), 6)] {
			have = append(have, c.String())
		}
		what := fmt.Sprintf("kernel %s", spec.Exact)
		if spec.Exact == "" {
			what = fmt.Sprintf("%s kernel built for Debian %d", spec.Series, spec.Dist)
		}
		if len(have) == 0 {
			return nil, fmt.Errorf("%w: no %s series kernel with headers for %s", ErrNotFound, spec.series(), debFlavour(spec))
		}
		return nil, fmt.Errorf("%w: no %s; newest of the series:\n\t%s", ErrNotFound, what, strings.Join(have, "\n\t"))
	}
	slices.SortFunc(ok, newestFirst)
	return ok[0], nil
}

// available is one line of apt-cache madison: a package version in a suite.
type available struct {
	pkg   Package
	suite string
}

// parseMadison reads apt-cache madison's output.
func parseMadison(out []byte) []available {
	var found []available
	for _, a := range debpkg.ParseMadison(out) {
		name, arch := splitArch(a.Name)
		found = append(found, available{pkg: Package{Name: name, Arch: arch, Version: a.Version}, suite: a.Suite})
	}
	return found
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// DefaultSpec is the kernel used when none is asked for.
const DefaultSpec = "debian:6.1"

// The sources a Spec names. Each is one file, source_NAME.go, registered
// in sources.go.
const (
	SourceDebian    = "debian"     // Debian's kernel packages
	SourceDebianSrc = "debian-src" // Debian's linux-source package, built here
	SourceTree      = "src"        // a kernel source tree, built here
	SourcePath      = "path"       // an image and a kbuild tree given by the user
)

// DefaultFlavour is the config flavour source builds use unless told.
const DefaultFlavour = "minimal"

// HostArch is the architecture kernels are got for unless a spec names
// one (Debian's name for it).
const HostArch = "amd64"

// Foreign architectures, for debian: kernels only: Debian's packages of
// that architecture, the module cross-built with Debian's cross gcc
// (gcc-aarch64-linux-gnu, gcc-s390x-linux-gnu), the guest emulated by
// qemu-system-aarch64 or qemu-system-s390x. s390x is big-endian: the
// guest suite there is the proof that every header of the wire format is
// written in host byte order.
const (
	Arm64 = "arm64"
	S390x = "s390x"
)

// supportedArchs are the architectures a spec may name.
var supportedArchs = []string{HostArch, Arm64, S390x}

// Spec names a kernel: where it comes from (Source and its argument:
// Series, Dist and Exact, or Dir, or Image and KDir), Debian's package
// flavour, the config flavour of kernels built here, and the architecture.
// Build one with [ParseSpec]; [Spec.String] gives it back in that form.
type Spec struct {
	// Source is where the kernel comes from: SourceDebian, SourceDebianSrc,
	// SourceTree or SourcePath.
	Source string
	// Series asks for the newest kernel of a series, such as "6.1"
	// (debian: and debian-src:).
	Series string
	// Dist restricts Series to kernels built for one Debian release
	// (13 for "debian:6.12+deb13"); for debian-src:, to sources from that
	// release's suites. Zero prefers, for debian:, kernels built with the
	// host's gcc, then the newest.
	Dist int
	// Exact asks for one kernel by ABI ("6.1.0-57", "6.12.57+deb12") or
	// by Debian package version ("6.1.170-1"); for debian-src:, one
	// version of the linux-source package.
	Exact string
	// Package is Debian's package flavour (debian: only): "" for the
	// architecture's default kernel, "rt" (PREEMPT_RT) or "cloud"; see
	// [PackageFlavours]. It is the part of Debian's package name between
	// the ABI and the architecture: linux-image-6.1.0-57-rt-amd64.
	Package string
	// Flavour is the config flavour of kernels built here (debian-src:,
	// src:), a fragment in configs/ ("minimal" or "debug"; see [Flavours]).
	Flavour string
	// Arch is the architecture, Debian's name for it; "" is HostArch.
	Arch string
	// Dir is the kernel source tree of src:.
	Dir string
	// Image and KDir are what path: names: a bootable image (an ELF
	// vmlinux with a PVH entry point, or a bzImage) and a configured,
	// built kernel tree to build modules against.
	Image, KDir string
}

// SpecError is a kernel spec that does not parse: a usage error, found
// before anything is downloaded or built.
type SpecError struct {
	Spec   string // as given
	Reason string
}

func (e *SpecError) Error() string { return fmt.Sprintf("kernel spec %q: %s", e.Spec, e.Reason) }

// specGrammar is the short form of the grammar, for error messages; the
// package documentation has the whole of it.
const specGrammar = "a spec is SOURCE:ARGUMENT[@QUALIFIER…]: debian:SERIES[+debNN][-rt|-cloud] (debian:6.1, debian:6.12+deb13, debian:6.1-rt), " +
	"debian:ABI or debian:PACKAGE_VERSION (debian:6.1.0-57, debian:6.1.0-57-rt, debian:6.1.170-1), " +
	"debian-src:SERIES|VERSION[@FLAVOUR] (debian-src:6.12@debug), src:DIR[@FLAVOUR] or path:IMAGE,KDIR; " +
	"a qualifier is a config flavour (minimal, debug) or an architecture (amd64; arm64 and s390x for debian:)"

var (
	seriesRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)(?:\+deb([0-9]+))?$`)
	exactRE  = regexp.MustCompile(`^[0-9]+\.[0-9]+[-.+~][0-9A-Za-z.+~-]*$`)
	// qualifierRE is what may follow a spec's last "@" as a qualifier;
	// anything else there (src:/home/me/linux@2) is part of the argument.
	qualifierRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// debianArchs are Debian's architecture names. Only supportedArchs work;
// naming another gets a clear "not supported yet" rather than "unknown".
var debianArchs = []string{"amd64", "arm64", "armel", "armhf", "i386", "loong64", "mips64el", "ppc64el", "riscv64", "s390x"}

// ParseSpec parses a kernel spec; see the package documentation for the
// grammar. Its errors are *[SpecError].
func ParseSpec(s string) (Spec, error) {
	name, arg, ok := strings.Cut(s, ":")
	src := sources[name]
	if !ok || src == nil {
		return Spec{}, &SpecError{Spec: s, Reason: fmt.Sprintf("unknown source %q: %s", name, specGrammar)}
	}
	spec := Spec{Source: name}
	arg, err := cutQualifiers(&spec, src, arg)
	if err == nil {
		err = src.parse(&spec, arg)
	}
	if err != nil {
		return Spec{}, &SpecError{Spec: s, Reason: err.Error()}
	}
	return spec, nil
}

// errArgument is a source's argument that does not parse.
var errArgument = errors.New("bad argument")

// cutQualifiers takes the "@QUALIFIER"s off the end of arg, last first,
// into spec. A last "@" followed by something that cannot be a qualifier
// name belongs to the argument, so src:/home/me/linux@2 works.
func cutQualifiers(spec *Spec, src source, arg string) (string, error) {
	for {
		i := strings.LastIndexByte(arg, '@')
		if i < 0 || !qualifierRE.MatchString(arg[i+1:]) {
			return arg, nil
		}
		q := arg[i+1:]
		switch {
		case isFlavour(q):
			if !src.built() {
				return "", fmt.Errorf("%s: kernels are not built here and take no config flavour (@%s); config flavours are for debian-src: and src:", spec.Source, q)
			}
			if spec.Flavour != "" {
				return "", fmt.Errorf("two config flavours, %s and %s", q, spec.Flavour)
			}
			spec.Flavour = q
		case slices.Contains(debianArchs, q):
			if spec.Arch != "" {
				return "", fmt.Errorf("two architectures, %s and %s", q, spec.Arch)
			}
			if !slices.Contains(supportedArchs, q) {
				return "", fmt.Errorf("architecture %s is not supported yet (only %s)", q, strings.Join(supportedArchs, ", "))
			}
			if q != HostArch && spec.Source != SourceDebian {
				return "", fmt.Errorf("%s: architecture %s is supported for Debian's packaged kernels only so far (debian:6.1@%s); kernels built here are %s",
					spec.Source, q, q, HostArch)
			}
			spec.Arch = q
		case slices.Contains(packageFlavours, q):
			return "", fmt.Errorf("@%s: Debian's package flavours follow the version, as in its package names (debian:6.1-%s, debian:6.1.0-57-%s)", q, q, q)
		default:
			return "", fmt.Errorf("unknown config flavour %q: want one of %s (config flavours) or an architecture (%s)",
				q, strings.Join(Flavours(), ", "), strings.Join(supportedArchs, ", "))
		}
		arg = arg[:i]
	}
}

// ParseSpecs parses a comma-separated list of specs (a matrix:
// "debian:6.1,debian:6.12"), keeping each path:IMAGE,KDIR whole. Its errors
// are *[SpecError].
func ParseSpecs(list string) ([]Spec, error) {
	var specs []Spec
	for _, s := range SplitSpecs(list) {
		spec, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// SplitSpecs splits a comma-separated list of specs ("debian:6.1,debian:6.12"),
// keeping each path:IMAGE,KDIR whole.
func SplitSpecs(list string) []string {
	var specs []string
	for _, s := range strings.Split(list, ",") {
		if n := len(specs); n > 0 && strings.HasPrefix(specs[n-1], SourcePath+":") && !strings.Contains(specs[n-1], ",") {
			specs[n-1] += "," + s
			continue
		}
		specs = append(specs, s)
	}
	return specs
}

// String returns the spec in the form ParseSpec reads: ParseSpec(s.String())
// is s for every spec ParseSpec returns.
func (s Spec) String() string {
	src := sources[s.Source]
	if src == nil {
		return s.Source + ":" // no such source: ParseSpec never returns it
	}
	str := s.Source + ":" + src.argument(s)
	if s.Flavour != "" {
		str += "@" + s.Flavour
	}
	if s.Arch != "" {
		str += "@" + s.Arch
	}
	return str
}

// withDefaults fills in what a Spec built by hand or parsed may leave out:
// the source (debian:), the config flavour of built kernels (minimal). The
// host's architecture is the default and is not written out.
func (s Spec) withDefaults() Spec {
	if s.Source == "" {
		s.Source = SourceDebian
	}
	if s.Flavour == "" && s.built() {
		s.Flavour = DefaultFlavour
	}
	if s.Arch == HostArch {
		s.Arch = ""
	}
	return s
}

// built reports whether the spec names a kernel built here from source.
func (s Spec) built() bool {
	src := sources[s.Source]
	return src != nil && src.built()
}

// Architecture is the spec's architecture, Debian's name for it: Arch, or
// HostArch when the spec names none.
func (s Spec) Architecture() string { return s.arch() }

// arch is the spec's architecture.
func (s Spec) arch() string {
	if s.Arch == "" {
		return HostArch
	}
	return s.Arch
}

// absSpec makes the paths of a spec absolute, so the spec recorded with
// the kernel names them wherever it is read.
func absSpec(spec Spec) (Spec, error) {
	var err error
	for _, p := range []*string{&spec.Dir, &spec.Image, &spec.KDir} {
		if *p != "" && err == nil {
			*p, err = filepath.Abs(*p)
		}
	}
	return spec, err
}

// series is the series a spec searches: Series, or the first two numbers of Exact.
func (s Spec) series() string {
	if s.Series != "" {
		return s.Series
	}
	return seriesOf(s.Exact)
}

// seriesOf returns "6.1" for "6.1.0-57", "6.1.170-1" or "6.1".
func seriesOf(v string) string {
	major, rest, _ := strings.Cut(v, ".")
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	return major + "." + rest[:end]
}

// parseVersionArg reads SERIES[+debNN] or an exact version into spec, for
// the sources that take Debian versions.
func parseVersionArg(spec *Spec, arg string) error {
	if m := seriesRE.FindStringSubmatch(arg); m != nil {
		spec.Series = m[1]
		if m[2] != "" {
			spec.Dist, _ = strconv.Atoi(m[2]) // digits, as the expression says
		}
		return nil
	}
	if exactRE.MatchString(arg) {
		spec.Exact = arg
		return nil
	}
	return fmt.Errorf("%w %q: want a series (6.1), a series for a Debian release (6.12+deb13), an ABI (6.1.0-57) or a package version (6.1.170-1); %s",
		errArgument, arg, specGrammar)
}

// versionArg is the inverse of parseVersionArg.
func versionArg(spec Spec) string {
	switch {
	case spec.Exact != "":
		return spec.Exact
	case spec.Dist != 0:
		return fmt.Sprintf("%s+deb%d", spec.Series, spec.Dist)
	}
	return spec.Series
}

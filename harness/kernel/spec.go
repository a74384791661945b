package kernel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DefaultSpec is the kernel used when none is asked for.
const DefaultSpec = "debian:6.1"

// The sources a Spec names.
const (
	SourceDebian    = "debian"     // Debian's kernel packages
	SourceDebianSrc = "debian-src" // Debian's linux-source package, built here
	SourceTree      = "src"        // a kernel source tree, built here
	SourcePath      = "path"       // an image and a kbuild tree given by the user
)

// DefaultFlavour is the config flavour source builds use unless told.
const DefaultFlavour = "minimal"

// Spec names a kernel. Build one with [ParseSpec].
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
	// Flavour is, for debian:, Debian's kernel flavour ("amd64"); for
	// kernels built here (debian-src:, src:), the config flavour, a
	// fragment in configs/ ("minimal" or "debug"; see [Flavours]).
	Flavour string
	// Dir is the kernel source tree of src:.
	Dir string
	// Image and KDir are what path: names: a bootable image (an ELF
	// vmlinux with a PVH entry point, or a bzImage) and a configured,
	// built kernel tree to build modules against.
	Image, KDir string
}

var (
	seriesRE  = regexp.MustCompile(`^([0-9]+\.[0-9]+)(?:\+deb([0-9]+))?$`)
	exactRE   = regexp.MustCompile(`^[0-9]+\.[0-9]+[-.+~][0-9A-Za-z.+~-]*$`)
	flavourRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// ParseSpec parses a kernel spec; see the package documentation for the forms.
func ParseSpec(s string) (Spec, error) {
	source, arg, _ := strings.Cut(s, ":")
	switch source {
	case SourceDebian:
		return parseDebian(s, Spec{Source: source, Flavour: "amd64"}, arg)
	case SourceDebianSrc:
		arg, flavour, err := cutFlavour(s, arg)
		if err != nil {
			return Spec{}, err
		}
		return parseDebian(s, Spec{Source: source, Flavour: flavour}, arg)
	case SourceTree:
		dir, flavour, err := cutFlavour(s, arg)
		if err != nil {
			return Spec{}, err
		}
		if dir == "" {
			return Spec{}, fmt.Errorf("kernel spec %q: want src:DIR[@FLAVOUR], DIR a kernel source tree", s)
		}
		return Spec{Source: source, Dir: dir, Flavour: flavour}, nil
	case SourcePath:
		image, kdir, ok := strings.Cut(arg, ",")
		if !ok || image == "" || kdir == "" {
			return Spec{}, fmt.Errorf("kernel spec %q: want path:IMAGE,KDIR (a vmlinux or bzImage, and the kernel's build tree)", s)
		}
		return Spec{Source: source, Image: image, KDir: kdir}, nil
	}
	return Spec{}, unknownSpec(s)
}

// parseDebian reads SERIES[+debNN], ABI or VERSION into spec.
func parseDebian(s string, spec Spec, arg string) (Spec, error) {
	if m := seriesRE.FindStringSubmatch(arg); m != nil {
		spec.Series = m[1]
		if m[2] != "" {
			spec.Dist, _ = strconv.Atoi(m[2])
		}
		return spec, nil
	}
	if exactRE.MatchString(arg) {
		spec.Exact = arg
		return spec, nil
	}
	return Spec{}, unknownSpec(s)
}

// cutFlavour splits "X@FLAVOUR". A last "@" followed by something that
// cannot be a flavour name belongs to X, so src:/home/me/linux@2 works.
func cutFlavour(s, arg string) (rest, flavour string, err error) {
	i := strings.LastIndexByte(arg, '@')
	if i < 0 || !flavourRE.MatchString(arg[i+1:]) {
		return arg, "", nil
	}
	rest, flavour = arg[:i], arg[i+1:]
	if !isFlavour(flavour) {
		return "", "", fmt.Errorf("kernel spec %q: unknown config flavour %q: want one of %s",
			s, flavour, strings.Join(Flavours(), ", "))
	}
	return rest, flavour, nil
}

func unknownSpec(s string) error {
	return fmt.Errorf("unknown kernel spec %q: want debian:SERIES[+debNN] (debian:6.1, debian:6.12+deb13), "+
		"debian:ABI (debian:6.1.0-57, debian:6.12.57+deb12), debian:PACKAGE_VERSION (debian:6.1.170-1), "+
		"debian-src:SERIES[@FLAVOUR] (debian-src:6.12@debug), src:DIR[@FLAVOUR] or path:IMAGE,KDIR", s)
}

// withDefaults fills in what a Spec built by hand may leave out.
func (s Spec) withDefaults() Spec {
	if s.Source == "" {
		s.Source = SourceDebian
	}
	switch {
	case s.Flavour != "":
	case s.Source == SourceDebian:
		s.Flavour = "amd64"
	case s.built():
		s.Flavour = DefaultFlavour
	}
	return s
}

// built reports whether the spec names a kernel built here from source.
func (s Spec) built() bool { return s.Source == SourceDebianSrc || s.Source == SourceTree }

// String returns the spec in the form ParseSpec reads.
func (s Spec) String() string {
	var str string
	switch s.Source {
	case SourcePath:
		return s.Source + ":" + s.Image + "," + s.KDir
	case SourceTree:
		str = s.Source + ":" + s.Dir
	default:
		switch {
		case s.Exact != "":
			str = s.Source + ":" + s.Exact
		case s.Dist != 0:
			str = fmt.Sprintf("%s:%s+deb%d", s.Source, s.Series, s.Dist)
		default:
			str = s.Source + ":" + s.Series
		}
	}
	if s.built() && s.Flavour != "" {
		str += "@" + s.Flavour
	}
	return str
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

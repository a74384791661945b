package kernel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DefaultSpec is the kernel used when none is asked for.
const DefaultSpec = "debian:6.1"

// Spec names a kernel. Build one with [ParseSpec].
type Spec struct {
	// Source is where the kernel comes from; only "debian" so far.
	Source string
	// Series asks for the newest kernel of a series, such as "6.1".
	Series string
	// Dist restricts Series to kernels built for one Debian release
	// (13 for "debian:6.12+deb13"). Zero prefers kernels built with the
	// host's gcc, then the newest.
	Dist int
	// Exact asks for one kernel by ABI ("6.1.0-57", "6.12.57+deb12") or
	// by Debian package version ("6.1.170-1").
	Exact string
	// Flavour is Debian's kernel flavour, "amd64".
	Flavour string
}

var (
	seriesRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)(?:\+deb([0-9]+))?$`)
	exactRE  = regexp.MustCompile(`^[0-9]+\.[0-9]+[-.+~][0-9A-Za-z.+~-]*$`)
)

// ParseSpec parses a kernel spec; see the package documentation for the forms.
func ParseSpec(s string) (Spec, error) {
	source, arg, _ := strings.Cut(s, ":")
	switch source {
	case "debian":
	case "path", "src":
		return Spec{}, fmt.Errorf("kernel spec %q: %s: kernels are not supported yet; use debian:SERIES", s, source)
	default:
		return Spec{}, unknownSpec(s)
	}
	spec := Spec{Source: source, Flavour: "amd64"}
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

func unknownSpec(s string) error {
	return fmt.Errorf("unknown kernel spec %q: want debian:SERIES[+debNN] (debian:6.1, debian:6.12+deb13), "+
		"debian:ABI (debian:6.1.0-57, debian:6.12.57+deb12) or debian:PACKAGE_VERSION (debian:6.1.170-1)", s)
}

// withDefaults fills in what a Spec built by hand may leave out.
func (s Spec) withDefaults() Spec {
	if s.Source == "" {
		s.Source = "debian"
	}
	if s.Flavour == "" {
		s.Flavour = "amd64"
	}
	return s
}

// String returns the spec in the form ParseSpec reads.
func (s Spec) String() string {
	switch {
	case s.Exact != "":
		return s.Source + ":" + s.Exact
	case s.Dist != 0:
		return fmt.Sprintf("%s:%s+deb%d", s.Source, s.Series, s.Dist)
	default:
		return s.Source + ":" + s.Series
	}
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

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name, in string
		want     Spec
		err      string // a substring of the error; "" for none
	}{
		{name: "series", in: "debian:6.1", want: Spec{Source: "debian", Series: "6.1"}},
		{name: "default", in: DefaultSpec, want: Spec{Source: "debian", Series: "6.1"}},
		{name: "two-digit minor", in: "debian:6.12", want: Spec{Source: "debian", Series: "6.12"}},
		{name: "series for a release", in: "debian:6.12+deb13", want: Spec{Source: "debian", Series: "6.12", Dist: 13}},
		{name: "abi", in: "debian:6.1.0-57", want: Spec{Source: "debian", Exact: "6.1.0-57"}},
		{name: "new abi", in: "debian:6.12.57+deb12", want: Spec{Source: "debian", Exact: "6.12.57+deb12"}},
		{name: "backport abi", in: "debian:6.1.0-0.deb11.52", want: Spec{Source: "debian", Exact: "6.1.0-0.deb11.52"}},
		{name: "package version", in: "debian:6.1.170-1", want: Spec{Source: "debian", Exact: "6.1.170-1"}},
		{name: "tilde version", in: "debian:7.3~rc7-1~exp1", want: Spec{Source: "debian", Exact: "7.3~rc7-1~exp1"}},
		{name: "rt abi", in: "debian:6.1.0-57-rt", want: Spec{Source: "debian", Exact: "6.1.0-57", Package: "rt"}},
		{name: "rt series", in: "debian:6.1-rt", want: Spec{Source: "debian", Series: "6.1", Package: "rt"}},
		{name: "cloud series for a release", in: "debian:6.12+deb13-cloud", want: Spec{Source: "debian", Series: "6.12", Dist: 13, Package: "cloud"}},
		{name: "rt new abi", in: "debian:6.12.57+deb13-rt", want: Spec{Source: "debian", Exact: "6.12.57+deb13", Package: "rt"}},
		{name: "rt package version", in: "debian:6.1.170-1-rt", want: Spec{Source: "debian", Exact: "6.1.170-1", Package: "rt"}},
		{name: "backport abi, cloud", in: "debian:6.1.0-0.deb11.48-cloud", want: Spec{Source: "debian", Exact: "6.1.0-0.deb11.48", Package: "cloud"}},
		{name: "trunk abi is no flavour", in: "debian:6.19.0-trunk", want: Spec{Source: "debian", Exact: "6.19.0-trunk"}},
		{name: "host architecture", in: "debian:6.1@amd64", want: Spec{Source: "debian", Series: "6.1", Arch: "amd64"}},
		{name: "rt on the host architecture", in: "debian:6.1.0-57-rt@amd64", want: Spec{Source: "debian", Exact: "6.1.0-57", Package: "rt", Arch: "amd64"}},
		{name: "arm64", in: "debian:6.1@arm64", want: Spec{Source: "debian", Series: "6.1", Arch: "arm64"}},
		{name: "arm64 rt exact", in: "debian:6.1.0-57-rt@arm64", want: Spec{Source: "debian", Exact: "6.1.0-57", Package: "rt", Arch: "arm64"}},
		{name: "arm64 built here", in: "debian-src:6.12@arm64", err: "debian-src: architecture arm64 is supported for Debian's packaged kernels only"},
		{name: "arm64 path", in: "path:/a,/b@arm64", err: "path: architecture arm64 is supported for Debian's packaged kernels only"},
		{name: "other architecture", in: "debian:6.1@riscv64", err: "architecture riscv64 is not supported yet (only amd64, arm64, s390x)"},
		{name: "s390x built here", in: "debian-src:6.12@debug@s390x", err: "architecture s390x is supported for Debian's packaged kernels only"},
		{name: "two architectures", in: "debian:6.1@amd64@amd64", err: "two architectures"},
		{name: "debian takes no config flavour", in: "debian:6.1@debug", err: "take no config flavour (@debug)"},
		{name: "coverage", in: "debian-src:6.12@coverage", want: Spec{Source: "debian-src", Series: "6.12", Flavour: "coverage"}},
		{name: "src coverage", in: "src:/usr/src/linux@coverage", want: Spec{Source: "src", Dir: "/usr/src/linux", Flavour: "coverage"}},
		{name: "debian takes no coverage flavour", in: "debian:6.1@coverage", err: "take no config flavour (@coverage)"},
		{name: "package flavour as a qualifier", in: "debian:6.1@rt", err: "package flavours follow the version, as in its package names (debian:6.1-rt"},
		{name: "unknown package flavour", in: "debian:6.1-fast", err: `unknown package flavour "fast": want one of cloud, rt`},
		{name: "empty", in: "", err: `kernel spec "": unknown source ""`},
		{name: "no source", in: "6.1", err: `kernel spec "6.1": unknown source "6.1"`},
		{name: "other source", in: "ubuntu:6.8", err: `unknown source "ubuntu": a spec is SOURCE:ARGUMENT`},
		{name: "major only", in: "debian:6", err: `bad argument "6"`},
		{name: "word", in: "debian:latest", err: `bad argument "latest"`},
		{name: "space", in: "debian:6.1 ", err: "bad argument"},
		{name: "at in a version", in: "debian:6.1@2", err: `bad argument "6.1@2"`},
		{name: "debian-src series", in: "debian-src:6.12", want: Spec{Source: "debian-src", Series: "6.12"}},
		{name: "debian-src flavour", in: "debian-src:6.12@debug", want: Spec{Source: "debian-src", Series: "6.12", Flavour: "debug"}},
		{name: "debian-src release", in: "debian-src:6.12+deb12@minimal", want: Spec{Source: "debian-src", Series: "6.12", Dist: 12, Flavour: "minimal"}},
		{name: "debian-src version", in: "debian-src:7.3~rc7-1~exp1@debug", want: Spec{Source: "debian-src", Exact: "7.3~rc7-1~exp1", Flavour: "debug"}},
		{name: "debian-src unknown flavour", in: "debian-src:6.12@fast", err: `unknown config flavour "fast": want one of coverage, debug, minimal`},
		{name: "debian-src word", in: "debian-src:stable", err: "bad argument"},
		{name: "debian-src rt", in: "debian-src:6.12-rt", err: "Debian's own -rt kernels are debian:6.12-rt"},
		{name: "debian-src flavour and architecture", in: "debian-src:6.12@debug@amd64", want: Spec{Source: "debian-src", Series: "6.12", Flavour: "debug", Arch: "amd64"}},
		{name: "src", in: "src:/usr/src/linux", want: Spec{Source: "src", Dir: "/usr/src/linux"}},
		{name: "src relative with flavour", in: "src:../linux@debug", want: Spec{Source: "src", Dir: "../linux", Flavour: "debug"}},
		{name: "src with @ in the path", in: "src:/home/me/linux@2", want: Spec{Source: "src", Dir: "/home/me/linux@2"}},
		{name: "src with @ and a flavour", in: "src:/home/me/linux@2@minimal", want: Spec{Source: "src", Dir: "/home/me/linux@2", Flavour: "minimal"}},
		{name: "src unknown flavour", in: "src:/home/me/linux@work", err: `unknown config flavour "work": want one of coverage, debug, minimal`},
		{name: "src two flavours", in: "src:/x@debug@minimal", err: "two config flavours"},
		{name: "src with a colon", in: "src:/home/me/a:b", want: Spec{Source: "src", Dir: "/home/me/a:b"}},
		{name: "src empty", in: "src:", err: "want src:DIR[@FLAVOUR]"},
		{name: "src flavour only", in: "src:@debug", err: "want src:DIR[@FLAVOUR]"},
		{name: "path", in: "path:/boot/vmlinuz,/lib/modules/x/build", want: Spec{Source: "path", Image: "/boot/vmlinuz", KDir: "/lib/modules/x/build"}},
		{name: "path relative", in: "path:vmlinux,.", want: Spec{Source: "path", Image: "vmlinux", KDir: "."}},
		{name: "path without kdir", in: "path:/boot/vmlinuz", err: "want path:IMAGE,KDIR"},
		{name: "path empty image", in: "path:,/x", err: "want path:IMAGE,KDIR"},
		{name: "path with an architecture", in: "path:/a,/b@amd64", want: Spec{Source: "path", Image: "/a", KDir: "/b", Arch: "amd64"}},
		{name: "path takes no flavour", in: "path:/a,/b@debug", err: "path: kernels are not built here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if tt.err != "" {
				var serr *SpecError
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSpec(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				} else if !errors.As(err, &serr) || serr.Spec != tt.in {
					t.Fatalf("ParseSpec(%q) error = %#v, want a *SpecError for the spec", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("unexpected spec (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
			if again, err := ParseSpec(got.String()); err != nil || again != got {
				t.Errorf("ParseSpec(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestSeriesOf(t *testing.T) {
	for in, want := range map[string]string{
		"6.1": "6.1", "6.1.0-57": "6.1", "6.12.57+deb12": "6.12", "6.1.170-1": "6.1", "7.3~rc7-1~exp1": "7.3", "5.10.0-0.deb10.16": "5.10",
	} {
		if got := seriesOf(in); got != want {
			t.Errorf("seriesOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	for in, want := range map[string]string{
		"debian:6.1":          "debian:6.1",
		"debian-src:6.12":     "debian-src:6.12@minimal",
		"src:/x":              "src:/x@minimal",
		"src:/x@debug":        "src:/x@debug",
		"path:/a,/b":          "path:/a,/b",
		"debian-src:6.1.2-3":  "debian-src:6.1.2-3@minimal",
		"debian:6.1-rt@amd64": "debian:6.1-rt", // the host's architecture is the default
		"debian:6.1-rt@arm64": "debian:6.1-rt@arm64",
		"src:/x@amd64":        "src:/x@minimal",
	} {
		if got := mustSpec(t, in).withDefaults().String(); got != want {
			t.Errorf("%s with defaults = %s, want %s", in, got, want)
		}
	}
	if got := (Spec{Series: "6.1"}).withDefaults(); got.Source != "debian" || got.Flavour != "" || got.Arch != "" {
		t.Errorf("Spec{Series: 6.1} with defaults = %+v", got)
	}
}

func TestSplitSpecs(t *testing.T) {
	for in, want := range map[string][]string{
		"debian:6.1":                    {"debian:6.1"},
		"debian:6.1,debian:6.12":        {"debian:6.1", "debian:6.12"},
		"path:/a/vmlinux,/a,debian:6.1": {"path:/a/vmlinux,/a", "debian:6.1"},
		"debian:6.1,path:v,k,path:w,l":  {"debian:6.1", "path:v,k", "path:w,l"},
		"src:/x@debug,debian-src:6.12":  {"src:/x@debug", "debian-src:6.12"},
		"path:only":                     {"path:only"},
	} {
		if diff := cmp.Diff(want, SplitSpecs(in)); diff != "" {
			t.Errorf("SplitSpecs(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestParseSpecs(t *testing.T) {
	got, err := ParseSpecs("debian:6.1,path:/a,/b,debian:6.1.0-57-rt,src:/x@debug")
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	for _, s := range got {
		strs = append(strs, s.String())
	}
	if diff := cmp.Diff([]string{"debian:6.1", "path:/a,/b", "debian:6.1.0-57-rt", "src:/x@debug"}, strs); diff != "" {
		t.Errorf("ParseSpecs (-want +got):\n%s", diff)
	}
	_, err = ParseSpecs("debian:6.1,nonsense:1")
	var serr *SpecError
	if !errors.As(err, &serr) || serr.Spec != "nonsense:1" {
		t.Errorf("ParseSpecs with a bad spec = %v, want a *SpecError naming nonsense:1", err)
	}
}

func TestNamedBy(t *testing.T) {
	for _, tt := range []struct {
		k    Kernel
		want string
	}{
		{Kernel{Source: "debian", Release: "6.1.0-57-amd64", PackageVersion: "6.1.170-1"}, "debian:6.1.0-57"},
		{Kernel{Release: "6.1.0-57-rt-amd64", PackageVersion: "6.1.170-1"}, "debian:6.1.0-57-rt"},
		{Kernel{Source: "debian", Release: "6.12.57+deb13-cloud-amd64"}, "debian:6.12.57+deb13-cloud"},
		{Kernel{Source: "debian-src", PackageVersion: "6.12.118-1", Flavour: "debug"}, "debian-src:6.12.118-1@debug"},
		{Kernel{Source: "src", SourceDir: "/l", Flavour: "minimal"}, "src:/l@minimal"},
		{Kernel{Source: "path", Image: "/v", BuildDir: "/b"}, "path:/v,/b"},
		{Kernel{Spec: "debian:6.1-rt", Release: "6.1.0-57-rt-amd64"}, "debian:6.1-rt"},
	} {
		if got := tt.k.NamedBy().String(); got != tt.want {
			t.Errorf("NamedBy(%+v) = %q, want %q", tt.k, got, tt.want)
		}
	}
}

func TestGetRefusesSpecsTheGrammarCannotWrite(t *testing.T) {
	s := &Store{Dir: t.TempDir(), run: (&fakeApt{}).run}
	for _, spec := range []Spec{
		{},                                  // no series, no version
		{Series: "6.1", Exact: "6.1.0-57"},  // both
		{Source: "nonsense", Series: "6.1"}, // no such source
		{Source: "debian", Series: "6.1", Flavour: "debug"}, // debian: kernels are not built here
	} {
		if _, err := s.Get(context.Background(), spec, nil); err == nil || !strings.Contains(err.Error(), "no spec the grammar can write") {
			t.Errorf("Get(%+v) = %v, want it refused", spec, err)
		}
	}
}

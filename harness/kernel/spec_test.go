package kernel

import (
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
		{name: "series", in: "debian:6.1", want: Spec{Source: "debian", Series: "6.1", Flavour: "amd64"}},
		{name: "default", in: DefaultSpec, want: Spec{Source: "debian", Series: "6.1", Flavour: "amd64"}},
		{name: "two-digit minor", in: "debian:6.12", want: Spec{Source: "debian", Series: "6.12", Flavour: "amd64"}},
		{name: "series for a release", in: "debian:6.12+deb13", want: Spec{Source: "debian", Series: "6.12", Dist: 13, Flavour: "amd64"}},
		{name: "abi", in: "debian:6.1.0-57", want: Spec{Source: "debian", Exact: "6.1.0-57", Flavour: "amd64"}},
		{name: "new abi", in: "debian:6.12.57+deb12", want: Spec{Source: "debian", Exact: "6.12.57+deb12", Flavour: "amd64"}},
		{name: "backport abi", in: "debian:6.1.0-0.deb11.52", want: Spec{Source: "debian", Exact: "6.1.0-0.deb11.52", Flavour: "amd64"}},
		{name: "package version", in: "debian:6.1.170-1", want: Spec{Source: "debian", Exact: "6.1.170-1", Flavour: "amd64"}},
		{name: "tilde version", in: "debian:7.3~rc7-1~exp1", want: Spec{Source: "debian", Exact: "7.3~rc7-1~exp1", Flavour: "amd64"}},
		{name: "empty", in: "", err: `unknown kernel spec "": want debian:SERIES`},
		{name: "no source", in: "6.1", err: `unknown kernel spec "6.1"`},
		{name: "other source", in: "ubuntu:6.8", err: `unknown kernel spec "ubuntu:6.8"`},
		{name: "major only", in: "debian:6", err: "unknown kernel spec"},
		{name: "word", in: "debian:latest", err: "unknown kernel spec"},
		{name: "space", in: "debian:6.1 ", err: "unknown kernel spec"},
		{name: "debian-src series", in: "debian-src:6.12", want: Spec{Source: "debian-src", Series: "6.12"}},
		{name: "debian-src flavour", in: "debian-src:6.12@debug", want: Spec{Source: "debian-src", Series: "6.12", Flavour: "debug"}},
		{name: "debian-src release", in: "debian-src:6.12+deb12@minimal", want: Spec{Source: "debian-src", Series: "6.12", Dist: 12, Flavour: "minimal"}},
		{name: "debian-src version", in: "debian-src:7.3~rc7-1~exp1@debug", want: Spec{Source: "debian-src", Exact: "7.3~rc7-1~exp1", Flavour: "debug"}},
		{name: "debian-src unknown flavour", in: "debian-src:6.12@fast", err: `unknown config flavour "fast": want one of debug, minimal`},
		{name: "debian-src word", in: "debian-src:stable", err: "unknown kernel spec"},
		{name: "src", in: "src:/usr/src/linux", want: Spec{Source: "src", Dir: "/usr/src/linux"}},
		{name: "src relative with flavour", in: "src:../linux@debug", want: Spec{Source: "src", Dir: "../linux", Flavour: "debug"}},
		{name: "src with @ in the path", in: "src:/home/me/linux@2", want: Spec{Source: "src", Dir: "/home/me/linux@2"}},
		{name: "src with @ and a flavour", in: "src:/home/me/linux@2@minimal", want: Spec{Source: "src", Dir: "/home/me/linux@2", Flavour: "minimal"}},
		{name: "src unknown flavour", in: "src:/home/me/linux@work", err: `unknown config flavour "work"`},
		{name: "src empty", in: "src:", err: "want src:DIR[@FLAVOUR]"},
		{name: "src flavour only", in: "src:@debug", err: "want src:DIR[@FLAVOUR]"},
		{name: "path", in: "path:/boot/vmlinuz,/lib/modules/x/build", want: Spec{Source: "path", Image: "/boot/vmlinuz", KDir: "/lib/modules/x/build"}},
		{name: "path relative", in: "path:vmlinux,.", want: Spec{Source: "path", Image: "vmlinux", KDir: "."}},
		{name: "path without kdir", in: "path:/boot/vmlinuz", err: "want path:IMAGE,KDIR"},
		{name: "path empty image", in: "path:,/x", err: "want path:IMAGE,KDIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSpec(%q) error = %v, want one containing %q", tt.in, err, tt.err)
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
		"debian:6.1":         "debian:6.1",
		"debian-src:6.12":    "debian-src:6.12@minimal",
		"src:/x":             "src:/x@minimal",
		"src:/x@debug":       "src:/x@debug",
		"path:/a,/b":         "path:/a,/b",
		"debian-src:6.1.2-3": "debian-src:6.1.2-3@minimal",
	} {
		if got := mustSpec(t, in).withDefaults().String(); got != want {
			t.Errorf("%s with defaults = %s, want %s", in, got, want)
		}
	}
	if got := (Spec{Series: "6.1"}).withDefaults(); got.Source != "debian" || got.Flavour != "amd64" {
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

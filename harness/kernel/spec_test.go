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
		{name: "path reserved", in: "path:/boot/vmlinuz,/lib/modules/x/build", err: "path: kernels are not supported yet"},
		{name: "src reserved", in: "src:/usr/src/linux", err: "src: kernels are not supported yet"},
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

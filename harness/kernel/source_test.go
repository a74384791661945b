// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/debpkg"
)

func TestResolveSource(t *testing.T) {
	f := &fakeApt{}
	a := &apt{dir: t.TempDir(), run: f.run}
	a.lock = a.path("apt.lock")
	for _, tt := range []struct {
		spec, version, suites, err string
	}{
		{spec: "debian-src:6.12", version: "6.12.118-1", suites: "trixie-security"},
		{spec: "debian-src:6.12+deb12", version: "6.12.117-1~deb12u1", suites: "bookworm-security"},
		{spec: "debian-src:6.12.95-1~bpo12+1@debug", version: "6.12.95-1~bpo12+1", suites: "bookworm-backports"},
		{spec: "debian-src:6.1", version: "6.1.192-3", suites: "bookworm-security"},
		{spec: "debian-src:6.16", err: "no linux-source-6.16 in Debian's archive (searched bullseye…experimental); source series there: 6.1, 6.12"},
		{spec: "debian-src:6.12+deb11", err: "no linux-source-6.12 for Debian 11"},
		{spec: "debian-src:6.12.1-1", err: "no linux-source-6.12 6.12.1-1"},
	} {
		spec := mustSpec(t, tt.spec).withDefaults()
		r, err := resolveSource(context.Background(), a, spec)
		if tt.err != "" {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: resolveSource = %v, want ErrNotFound saying %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.spec, err)
			continue
		}
		if r.PackageVersion != tt.version || strings.Join(r.Suites, " ") != tt.suites || len(r.Packages) != 1 ||
			r.Packages[0].Name != "linux-source-"+spec.series() || r.Packages[0].Size == 0 {
			t.Errorf("%s: resolved to %+v", tt.spec, r)
		}
	}
}

func TestSourceKey(t *testing.T) {
	got := sourceKey(debpkg.Upstream("6.12.118-1"), "debian-src-6.12.118-1", "minimal", "d3bf29751a84", "12.2.0")
	if want := "6.12.118@debian-src-6.12.118-1-minimal-d3bf29751a84-gcc12.2.0"; got != want {
		t.Errorf("sourceKey = %q, want %q", got, want)
	}
	if got := debpkg.Upstream("7.3~rc7-1~exp1"); got != "7.3~rc7" {
		t.Errorf("upstreamVersion = %q", got)
	}
}

func TestVersions(t *testing.T) {
	f := &fakeApt{}
	s := &Store{Dir: t.TempDir(), run: f.run}
	ctx := context.Background()
	for spec, want := range map[string]string{
		// With the versions whose linux-kbuild is gone: Get refuses them
		// with an UnbuildableError, which bisect counts as untestable.
		"debian:6.1":            "6.1.172-1~deb11u1 6.1.176-1 6.1.180-1~deb11u1 6.1.186-1~deb11u1 6.1.192-3",
		"debian:6.1-rt":         "6.1.192-3",
		"debian:6.1+deb12":      "6.1.176-1 6.1.192-3",
		"debian:6.12":           "6.12.117-1~deb12u1 6.12.118-1",
		"debian:6.12.118-1":     "6.12.117-1~deb12u1 6.12.118-1",
		"debian-src:6.12":       "6.12.95-1~bpo12+1 6.12.117-1~deb12u1 6.12.118-1",
		"debian-src:6.12+deb13": "6.12.118-1",
	} {
		got, err := s.Versions(ctx, mustSpec(t, spec), nil)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("Versions(%s) = %q, %v; want %q", spec, got, err, want)
		}
	}
	if _, err := s.Versions(ctx, mustSpec(t, "src:/x"), nil); err == nil {
		t.Error("Versions(src:) succeeded")
	}
}

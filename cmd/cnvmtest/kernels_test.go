// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

func TestKernelsGetBadSpecIsUsage(t *testing.T) {
	t.Setenv("CNVMTEST_CACHE", t.TempDir())
	for _, spec := range []string{"nonsense:1", "debian:6.1@riscv64", "debian-src:6.12@s390x", "debian-src:6.12@arm64", "debian:latest"} {
		var stdout, stderr bytes.Buffer
		if code := kernelsCmd(context.Background(), []string{"get", spec}, &stdout, &stderr); code != 2 {
			t.Errorf("kernels get %s = exit %d, want 2 (usage)\n%s", spec, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), `kernel spec "`+spec+`"`) {
			t.Errorf("kernels get %s: stderr does not name the spec:\n%s", spec, stderr.String())
		}
	}
}

// The listing names stored kernels by specs that parse back to themselves.
func TestKernelsListSpecsRoundTrip(t *testing.T) {
	for _, k := range []*kernel.Kernel{
		{Source: kernel.SourceDebian, Release: "6.1.0-57-amd64", PackageVersion: "6.1.170-1"},
		{Source: kernel.SourceDebian, Release: "6.1.0-57-arm64", Arch: "arm64", PackageVersion: "6.1.192-3"},
		{Source: kernel.SourceDebian, Release: "6.1.0-57-rt-arm64", Arch: "arm64", PackageVersion: "6.1.192-3"},
		{Source: kernel.SourceDebian, Release: "6.1.0-50-s390x", Arch: "s390x", PackageVersion: "6.1.176-1"},
		{Release: "6.1.0-57-rt-amd64", PackageVersion: "6.1.170-1"}, // stored before Source was recorded
		{Source: kernel.SourceDebianSrc, Release: "6.12.118", PackageVersion: "6.12.118-1", Flavour: "debug"},
		{Source: kernel.SourceTree, Release: "6.13.0", SourceDir: "/home/me/linux@2", Flavour: "minimal"},
		{Spec: "debian:6.12+deb13-cloud", Source: kernel.SourceDebian, Release: "6.12.57+deb13-cloud-amd64"},
	} {
		named := k.NamedBy()
		again, err := kernel.ParseSpec(named.String())
		if err != nil || again != named {
			t.Errorf("%s: NamedBy() = %q, which parses to %+v, %v; want %+v", k.Release, named, again, err, named)
		}
	}
}

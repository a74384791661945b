// SPDX-License-Identifier: MIT

package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

func TestKernelCoverageUsage(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "prog")
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{KernelCoverage: "lines", TestsDir: ".", TestsPkg: "."}, `unknown -coverage mode "lines"`},
		{Options{KernelCoverage: KernelCoveragePerTest, Exec: []string{prog}}, "-coverage per-test is for test runs"},
		{Options{KernelCoverage: KernelCoverageRun, Kernel: "debian:6.1", TestsDir: ".", TestsPkg: "."},
			"-coverage run on debian:6.1: Debian's kernels are built without CONFIG_GCOV_KERNEL; use a coverage kernel such as debian-src:6.12@coverage"},
		{Options{KernelCoverage: KernelCoverageRun, Kernel: "debian-src:6.12@debug", TestsDir: ".", TestsPkg: "."},
			"the debug flavour builds kernels without CONFIG_GCOV_KERNEL"},
	} {
		_, err := newRun(tt.o, false)
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("newRun(%+v) = %v, want a usage error with %q", tt.o, err, tt.want)
		}
	}
}

func TestKernelCoverageMode(t *testing.T) {
	dir := t.TempDir()
	gcovConfig, plainConfig := filepath.Join(dir, "gcov.config"), filepath.Join(dir, "plain.config")
	os.WriteFile(gcovConfig, []byte("CONFIG_DEBUG_FS=y\nCONFIG_GCOV_KERNEL=y\n"), 0o644)
	os.WriteFile(plainConfig, []byte("CONFIG_DEBUG_FS=y\n# CONFIG_GCOV_KERNEL is not set\n"), 0o644)
	gcov := &kernel.Kernel{Config: gcovConfig, Gcov: filepath.Join(dir, "gcov")}
	noNotes := &kernel.Kernel{Config: gcovConfig}
	plain := &kernel.Kernel{Config: plainConfig}
	for _, tt := range []struct {
		mode string
		k    *kernel.Kernel
		want string // the guest's mode, or an error's text
	}{
		{"", gcov, guest.GcovRun},
		{"", plain, ""},
		{KernelCoverageOff, gcov, ""},
		{KernelCoveragePerTest, gcov, guest.GcovPerTest},
		{KernelCoverageRun, plain, "was not built with CONFIG_GCOV_KERNEL; use a coverage kernel such as debian-src:6.12@coverage"},
		{KernelCoverageRun, noNotes, "no gcov notes kept"},
	} {
		r := &run{o: Options{KernelCoverage: tt.mode}}
		got, err := r.kernelCoverageMode(tt.k)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tt.want) || (tt.want == "" && got != "") {
			t.Errorf("mode %q on %s: got %q, want %q", tt.mode, tt.k.Config, got, tt.want)
		}
	}
}

// A coverage kernel, or a path: kernel whose .config is only read once
// it is got, passes the check.
func TestKernelCoverageAccepted(t *testing.T) {
	for _, k := range []string{"debian-src:6.12@coverage", "src:/nonexistent/linux@coverage"} {
		o := Options{KernelCoverage: KernelCoveragePerTest, Kernel: k, TestsDir: ".", TestsPkg: "."}
		if _, err := newRun(o, false); err != nil && strings.Contains(err.Error(), "coverage") {
			t.Errorf("%s: %v", k, err)
		}
	}
}

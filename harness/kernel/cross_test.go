// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeCrossGCC makes crossGCC answer version, or fail when version is "".
func fakeCrossGCC(t *testing.T, version string) {
	t.Helper()
	old := crossGCC
	t.Cleanup(func() { crossGCC = old })
	crossGCC = func(arch string) (string, string, error) {
		if version == "" {
			return "", "", errors.New("modules for arm64 kernels are cross-built with aarch64-linux-gnu-gcc, which is missing: install it with `make deps-arm64` (Debian package gcc-aarch64-linux-gnu)")
		}
		return "aarch64-linux-gnu-gcc", version, nil
	}
}

func TestCrossCompilerFits(t *testing.T) {
	arm := mustSpec(t, "debian:6.12@arm64")
	for _, c := range []struct {
		name, have, compiler string
		spec                 Spec
		err                  string
	}{
		{name: "host architecture", have: "", compiler: "gcc-14", spec: mustSpec(t, "debian:6.12")},
		{name: "same gcc", have: "12.2.0", compiler: "gcc-12", spec: arm},
		{name: "older gcc", have: "12.2.0", compiler: "gcc-10", spec: arm},
		// Its suite's cross gcc, in a build root (crossRoute).
		{name: "newer gcc", have: "12.2.0", compiler: "gcc-14", spec: arm},
		{name: "clang", have: "12.2.0", compiler: "clang-19", spec: arm, err: "cross builds of modules use gcc only"},
		{name: "no cross compiler", have: "", compiler: "gcc-12", spec: arm, err: "install it with `make deps-arm64` (Debian package gcc-aarch64-linux-gnu)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeCrossGCC(t, c.have)
			err := crossCompilerFits(c.spec, c.compiler)
			var ce *CrossCompilerError
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case c.err != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("err = %v, want a CrossCompilerError containing %q", err, c.err)
			}
		})
	}
}

func TestCrossRoute(t *testing.T) {
	for _, c := range []struct {
		name, have, cc string
		args           []string
		err            string
	}{
		{name: "Debian 12's arm64 6.1", have: "12.2.0", cc: "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
			args: []string{"ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"}},
		// No aarch64-linux-gnu-gcc-10 here: the headers' gcc-10 is replaced.
		{name: "an older gcc", have: "12.2.0", cc: "gcc-10 (Debian 10.2.1-6) 10.2.1 20210110",
			args: []string{"ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-", "CC=aarch64-linux-gnu-gcc"}},
		// Not Debian's: no suite to take a newer cross gcc from.
		{name: "gcc-14, not Debian's", have: "12.2.0", cc: "gcc-14 (Debian 14.2.0-19) 14.2.0", err: "newer than the cross gcc 12"},
		{name: "no cross gcc", have: "", cc: "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", err: "make deps-arm64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeCrossGCC(t, c.have)
			k := &Kernel{Source: SourcePath, Release: "6.1.0-57-arm64", Arch: Arm64, CC: c.cc}
			s := &Store{Dir: t.TempDir()}
			err := s.crossRoute(context.Background(), k, newProgress(nil, Spec{}))
			if c.err != "" {
				var ce *CrossCompilerError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want a CrossCompilerError containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.args, k.ModuleMakeArgs); diff != "" {
				t.Errorf("make arguments (-want +got):\n%s", diff)
			}
			if k.ModuleCC != "aarch64-linux-gnu-gcc "+c.have || k.CompilerMismatch != "" {
				t.Errorf("ModuleCC %q, CompilerMismatch %q", k.ModuleCC, k.CompilerMismatch)
			}
		})
	}
}

// A Debian arm64 kernel built with trixie's gcc 14 cross-builds its
// modules in the stored build root of trixie with gcc-14-aarch64-linux-gnu.
func TestCrossRouteBuildRoot(t *testing.T) {
	fakeCrossGCC(t, "12.2.0")
	s := &Store{Dir: t.TempDir()}
	name := "trixie-gcc-14-aarch64-linux-gnu@" + time.Now().UTC().Format("20060102")
	tc, _ := json.Marshal(Toolchain{Name: name, Suite: "trixie", Compiler: "gcc-14-aarch64-linux-gnu", Command: "aarch64-linux-gnu-gcc-14",
		Version: "14.2.0", Packages: append([]string{"gcc-14-aarch64-linux-gnu"}, toolchainPackages...), Created: time.Now().UTC()})
	writeFiles(t, filepath.Join(s.Dir, "toolchains", name), map[string]string{"toolchain.json": string(tc)})
	// The native gcc-14 root of the same suite is not it.
	native := "trixie-gcc-14@" + time.Now().UTC().Format("20060102")
	tn, _ := json.Marshal(Toolchain{Name: native, Suite: "trixie", Compiler: "gcc-14", Version: "14.2.0",
		Packages: append([]string{"gcc-14"}, toolchainPackages...), Created: time.Now().UTC()})
	writeFiles(t, filepath.Join(s.Dir, "toolchains", native), map[string]string{"toolchain.json": string(tn)})

	k := &Kernel{Source: SourceDebian, Release: "6.12.57+deb13-arm64", Arch: Arm64, Suites: []string{"trixie-security"},
		CC: "aarch64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"}
	if err := s.crossRoute(context.Background(), k, newProgress(nil, Spec{})); err != nil {
		t.Fatal(err)
	}
	if k.BuildRoot != filepath.Join(s.Dir, "toolchains", name) || k.CompilerMismatch != "" || k.ModuleCC != "aarch64-linux-gnu-gcc-14 14.2.0 in trixie" {
		t.Errorf("build root %q, mismatch %q, module cc %q", k.BuildRoot, k.CompilerMismatch, k.ModuleCC)
	}
	if diff := cmp.Diff([]string{"ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"}, k.ModuleMakeArgs); diff != "" {
		t.Errorf("make arguments (-want +got):\n%s", diff)
	}
}

func TestReleaseSpecArch(t *testing.T) {
	for rel, want := range map[string]string{
		"6.1.0-57-arm64":       "debian:6.1.0-57@arm64",
		"6.1.0-57-rt-arm64":    "debian:6.1.0-57-rt@arm64",
		"6.12.118+deb12-arm64": "debian:6.12.118+deb12@arm64",
		"6.1.0-57-amd64":       "debian:6.1.0-57",
		"6.1.0-50-s390x":       "debian:6.1.0-50@s390x",
	} {
		spec, ok := releaseSpec(rel)
		if !ok || spec.String() != want {
			t.Errorf("releaseSpec(%q) = %s, %v; want %s", rel, spec, ok, want)
		}
	}
	if _, ok := releaseSpec("6.1.0-57-riscv64"); ok {
		t.Errorf("releaseSpec took a riscv64 release")
	}
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestToolchainSuite(t *testing.T) {
	for _, tt := range []struct {
		suites []string
		want   string
	}{
		{[]string{"trixie", "trixie-security"}, "trixie"},
		{[]string{"trixie-security"}, "trixie"},
		{[]string{"trixie-backports"}, "trixie"},
		{[]string{"experimental"}, "sid"},
		{[]string{"experimental", "sid"}, "sid"},
		{[]string{"forky"}, "forky"},
		{nil, "sid"},
	} {
		if got := toolchainSuite(tt.suites); got != tt.want {
			t.Errorf("toolchainSuite(%q) = %q, want %q", tt.suites, got, tt.want)
		}
	}
}

func TestModuleMake(t *testing.T) {
	ctx := context.Background()
	k := &Kernel{Dir: "/store/kernels/x", BuildDir: "/store/kernels/x/usr/src/linux-headers-x", ModuleMakeArgs: []string{"CC=gcc"}}
	cmd := k.ModuleMake(ctx, "/work/mod", "V=1")
	want := []string{"make", "-C", "/store/kernels/x/usr/src/linux-headers-x", "M=/work/mod", "modules", "CC=gcc", "V=1"}
	if diff := cmp.Diff(want, cmd.Args); diff != "" {
		t.Errorf("unexpected host command (-want +got):\n%s", diff)
	}

	k.BuildRoot, k.ModuleMakeArgs = "/store/toolchains/trixie-gcc-14@20261129", nil
	cmd = k.ModuleMake(ctx, "/work/mod")
	if filepath.Base(cmd.Path) != "unshare" {
		t.Errorf("the build root command runs %s", cmd.Path)
	}
	args := strings.Join(cmd.Args, " ")
	for _, want := range []string{
		"--mount -- sh -c ",
		"cnvmtest-module-build /store/kernels/x /work/mod /store/toolchains/trixie-gcc-14@20261129 make -C /cnvmtest/kbuild/usr/src/linux-headers-x M=/cnvmtest/module modules",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("the build root command %q lacks %q", args, want)
		}
	}
}

func TestModuleRoute(t *testing.T) {
	defer func(old func() (int, error)) { hostGCC = old }(hostGCC)
	hostGCC = func() (int, error) { return 12, nil }
	t.Setenv("PATH", t.TempDir()+string(os.PathListSeparator)+os.Getenv("PATH")) // no gcc-10 in front
	ctx := context.Background()
	s := &Store{Dir: t.TempDir()}
	p := newProgress(nil, Spec{})

	// Older: CC=gcc, unless gcc-10 is installed.
	old := &Kernel{Source: "debian", CC: "gcc-10 (Debian 10.2.1-6) 10.2.1 20210110", CompilerMismatch: "older"}
	if err := s.moduleRoute(ctx, old, p); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("gcc-10"); err != nil && !cmp.Equal(old.ModuleMakeArgs, []string{"CC=gcc"}) {
		t.Errorf("ModuleMakeArgs = %q, want CC=gcc", old.ModuleMakeArgs)
	}
	if old.CompilerMismatch != "" || old.BuildRoot != "" {
		t.Errorf("older kernel: mismatch %q, build root %q", old.CompilerMismatch, old.BuildRoot)
	}

	// Newer: the stored build root of its suite, made today.
	name := "trixie-gcc-14@" + time.Now().UTC().Format("20060102")
	tc, _ := json.Marshal(Toolchain{Name: name, Suite: "trixie", Compiler: "gcc-14", Version: "14.2.0",
		Packages: append([]string{"gcc-14"}, toolchainPackages...), Created: time.Now().UTC()})
	writeFiles(t, filepath.Join(s.Dir, "toolchains", name), map[string]string{"toolchain.json": string(tc)})
	// One made with fewer packages is not taken.
	writeFiles(t, filepath.Join(s.Dir, "toolchains", "trixie-gcc-14@20200101"), map[string]string{
		"toolchain.json": `{"name": "trixie-gcc-14@20200101", "suite": "trixie", "compiler": "gcc-14", "packages": ["gcc-14"], "created": "` + time.Now().UTC().Format(time.RFC3339) + `"}`,
	})
	newer := &Kernel{Source: "debian", Suites: []string{"trixie-security"}, CC: "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0", CompilerMismatch: "newer"}
	if err := s.moduleRoute(ctx, newer, p); err != nil {
		t.Fatal(err)
	}
	if newer.BuildRoot != filepath.Join(s.Dir, "toolchains", name) || newer.CompilerMismatch != "" || newer.ModuleCC != "gcc-14 14.2.0 in trixie" {
		t.Errorf("newer kernel: build root %q, mismatch %q, module cc %q", newer.BuildRoot, newer.CompilerMismatch, newer.ModuleCC)
	}
	if s.usedAt("toolchains/"+name, time.Time{}).IsZero() {
		t.Error("the build root was not marked used")
	}

	// Newer, but not Debian's: no suite to take the compiler from.
	path := &Kernel{Source: "path", CC: "gcc-14 (Debian 14.2.0-19) 14.2.0", CompilerMismatch: "newer"}
	if err := s.moduleRoute(ctx, path, p); err != nil || path.BuildRoot != "" || path.CompilerMismatch != "newer" {
		t.Errorf("path: kernel: build root %q, mismatch %q, %v", path.BuildRoot, path.CompilerMismatch, err)
	}
}

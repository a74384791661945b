// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The source-build integration tests download Debian's linux-source
// package and build it here: about 5 to 8 minutes for the minimal flavour
// on two cores. CNVMTEST_NET_TESTS=all also builds the debug flavour.

func TestIntegrationDebianSrc(t *testing.T) {
	s := netStore(t)
	requireBuildTools(t)
	flavours := []string{"minimal"}
	if os.Getenv("CNVMTEST_NET_TESTS") == "all" {
		flavours = append(flavours, "debug")
	}
	for _, flavour := range flavours {
		t.Run(flavour, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
			defer cancel()
			spec := mustSpec(t, "debian-src:6.12@"+flavour)
			start := time.Now()
			k, err := s.Get(ctx, spec, testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Get: %s (the kernel's make: %.0f s)", time.Since(start), k.BuildSeconds)
			t.Logf("kernel: %+v", *k)
			checkBuilt(t, k, flavour)
			buildKmod(t, k)

			start = time.Now()
			warm, err := s.Get(ctx, spec, testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			if warm.Dir != k.Dir {
				t.Errorf("second Get returned %s, first %s", warm.Dir, k.Dir)
			}
			t.Logf("warm Get: %s", time.Since(start))
		})
	}
}

func requireBuildTools(t *testing.T) {
	t.Helper()
	for _, cmd := range []string{"gcc", "make", "flex", "bison", "bc", "tar", "xz"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("building kernels needs %s (make deps installs the build tools)", cmd)
		}
	}
}

// checkBuilt checks a kernel built here boots by PVH, is what the
// fragment asked for, and records how it was made.
func checkBuilt(t *testing.T, k *Kernel, flavour string) {
	t.Helper()
	if !k.PVH || k.Image != k.Vmlinux {
		t.Errorf("no PVH vmlinux: PVH %v, Image %s, fallback %q", k.PVH, k.Image, k.ImageFallback)
	}
	if k.Flavour != flavour || k.ConfigHash == "" || !strings.HasPrefix(k.Compiler, "gcc ") || k.CC == "" {
		t.Errorf("the kernel does not record its build: flavour %q, config hash %q, compiler %q, CC %q", k.Flavour, k.ConfigHash, k.Compiler, k.CC)
	}
	frag, err := flavourFragment(flavour)
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frag.Check(config, nil); err != nil {
		t.Error(err)
	}
	for _, f := range []string{"Makefile", ".config", "Module.symvers", "scripts/mod/modpost", "include/generated/autoconf.h"} {
		if _, err := os.Stat(filepath.Join(k.BuildDir, f)); err != nil {
			t.Errorf("kbuild tree: %v", err)
		}
	}
}

// buildKmod builds the project's cn_echo module against k, as the harness
// does: in a copy of kmod/, with ModuleMake.
func buildKmod(t *testing.T, k *Kernel) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../kmod")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := k.ModuleMake(context.Background(), dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	kos, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
	if len(kos) != 1 {
		t.Fatalf("built %v, want one .ko:\n%s", kos, out)
	}
	ko, _ := os.ReadFile(kos[0])
	if !strings.Contains(string(ko), "vermagic="+k.Release+" ") {
		t.Errorf("%s lacks vermagic=%s", kos[0], k.Release)
	}
	t.Logf("built %s against %s with %s in %s", filepath.Base(kos[0]), k.Release, k.ModuleCC, time.Since(start))
}

// TestIntegrationBuildRoot fetches Debian's 6.12 for trixie, built with
// gcc-14, and builds cn_echo for it in a debootstrapped trixie with gcc-14.
// It needs root and debootstrap.
func TestIntegrationBuildRoot(t *testing.T) {
	s := netStore(t)
	if os.Geteuid() != 0 {
		t.Skip("making a build root needs root (debootstrap, chroot)")
	}
	for _, cmd := range []string{"debootstrap", "unshare", "chroot"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("making a build root needs %s", cmd)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	spec := os.Getenv("CNVMTEST_BUILD_ROOT_SPEC")
	if spec == "" {
		spec = "debian:6.12+deb13"
	}
	start := time.Now()
	k, err := s.Get(ctx, mustSpec(t, spec), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Get: %s; CC %q; modules with %s in %s", time.Since(start), k.CC, k.ModuleCC, k.BuildRoot)
	if host, _ := hostGCC(); host >= 14 {
		t.Skipf("the host's gcc %d builds %s's modules itself", host, spec)
	}
	if k.BuildRoot == "" || k.CompilerMismatch != "" {
		t.Fatalf("no build root: %s", k.CompilerMismatch)
	}
	buildKmod(t, k)
}

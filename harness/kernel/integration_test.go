// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux"
)

// The integration tests download from Debian's archive. They run with
// CNVMTEST_NET_TESTS=1 (CNVMTEST_NET_TESTS=all also fetches every series),
// in the store CNVMTEST_CACHE names, so a CI cache can keep it, or else in
// a fresh one.

func netStore(t *testing.T) *Store {
	t.Helper()
	switch {
	case os.Getenv("CNVMTEST_NET_TESTS") == "":
		t.Skip("downloads kernels from Debian's archive: set CNVMTEST_NET_TESTS=1")
	case testing.Short():
		t.Skip("downloads kernels from Debian's archive; not in -short mode")
	}
	for _, cmd := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("needs %s (a Debian or Ubuntu host)", cmd)
		}
	}
	if os.Getenv("CNVMTEST_CACHE") != "" {
		s, err := DefaultStore()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return &Store{Dir: t.TempDir()}
}

// recordCommands makes s record the apt commands it runs.
func recordCommands(s *Store) func() []string {
	var mu sync.Mutex
	var ran []string
	s.run = func(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
		mu.Lock()
		ran = append(ran, name+" "+args[0])
		mu.Unlock()
		return execRunner(ctx, dir, name, args...)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		r := slices.Clone(ran)
		ran = nil
		return r
	}
}

func TestIntegrationGet(t *testing.T) {
	s := netStore(t)
	ran := recordCommands(s)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	spec := mustSpec(t, DefaultSpec)

	start := time.Now()
	k, err := s.Get(ctx, spec, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Get: %s, ran %v", time.Since(start), ran())
	t.Logf("kernel: %+v", *k)
	checkKernel(t, k)
	if host, err := hostGCC(); err == nil && host == 12 && k.CompilerMismatch != "" {
		t.Errorf("6.1 is built with gcc-12 like this host, but: %s", k.CompilerMismatch)
	}
	buildHello(t, k, nil)

	start = time.Now()
	warm, err := s.Get(ctx, spec, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	warmTime, warmRan := time.Since(start), ran()
	t.Logf("second Get: %s, ran %v", warmTime, warmRan)
	if warm.Dir != k.Dir {
		t.Errorf("second Get returned %s, first %s", warm.Dir, k.Dir)
	}
	for _, c := range warmRan {
		if strings.HasPrefix(c, "apt-get") {
			t.Errorf("the second Get ran %s; with fresh lists it must not touch the network", c)
		}
	}
}

// checkKernel checks a kernel is ready to boot by PVH and to build against.
func checkKernel(t *testing.T, k *Kernel) {
	t.Helper()
	if !k.PVH || k.Image != k.Vmlinux || k.ImageFallback != "" {
		t.Errorf("no PVH vmlinux: PVH %v, Image %s, fallback %q", k.PVH, k.Image, k.ImageFallback)
	}
	b, err := os.ReadFile(k.Image)
	if err != nil {
		t.Fatal(err)
	}
	if err := vmlinux.CheckELF(b); err != nil {
		t.Errorf("%s: %v", k.Image, err)
	}
	if k.CC == "" {
		t.Errorf("no CONFIG_CC_VERSION_TEXT in %s", k.Config)
	}
	for _, link := range []string{"scripts", "tools"} {
		p, err := filepath.EvalSymlinks(filepath.Join(k.BuildDir, link))
		if err != nil || !strings.HasPrefix(p, k.Dir) {
			t.Errorf("%s/%s resolves to %q (%v), not into the entry", k.BuildDir, link, p, err)
		}
	}
}

// buildHello builds a trivial module against k, as the harness does.
func buildHello(t *testing.T, k *Kernel, makeArgs []string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Kbuild"), []byte("obj-m += hello.o\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hello.c"), []byte(`#include <linux/module.h>

static int __init hello_init(void)
{
	pr_info("hello\n");
	return 0;
}

static void __exit hello_exit(void)
{
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
`), 0o644)
	start := time.Now()
	cmd := k.ModuleMake(context.Background(), dir, makeArgs...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	ko, err := os.ReadFile(filepath.Join(dir, "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ko, []byte("vermagic="+k.Release+" ")) {
		t.Errorf("hello.ko lacks vermagic=%s", k.Release)
	}
	t.Logf("built hello.ko against %s in %s", k.Release, time.Since(start))
}

func TestIntegrationResolve(t *testing.T) {
	s := netStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	host, _ := hostGCC()
	for _, spec := range []string{"debian:5.10", "debian:6.1", "debian:6.12", "debian:6.12+deb13", "debian:7.2", "debian:7.3", "debian:7.3+deb14"} {
		start := time.Now()
		r, err := s.Resolve(ctx, mustSpec(t, spec), testLog{t})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		var size int64
		var pkgs []string
		for _, p := range r.Packages {
			size += p.Size
			pkgs = append(pkgs, p.String())
		}
		t.Logf("%s -> %s (%s) from %s, %s, %s to download in %s:\n\t%s", spec, r.Release, r.PackageVersion,
			strings.Join(r.Suites, " "), r.Compiler, megabytes(size), time.Since(start).Round(time.Millisecond), strings.Join(pkgs, "\n\t"))
		if spec == "debian:6.1" || spec == "debian:6.12" {
			if want := "gcc-" + "12"; host == 12 && r.Compiler != want {
				t.Errorf("%s resolved to a kernel built with %s; this host has gcc 12", spec, r.Compiler)
			}
		}
	}
}

// TestIntegrationGetAll fetches every series with CNVMTEST_NET_TESTS=all.
func TestIntegrationGetAll(t *testing.T) {
	s := netStore(t)
	if os.Getenv("CNVMTEST_NET_TESTS") != "all" {
		t.Skip("fetches every series: set CNVMTEST_NET_TESTS=all")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for _, spec := range []string{"debian:5.10", "debian:6.12", "debian:6.12+deb13", "debian:7.2", "debian:7.3"} {
		t.Run(spec, func(t *testing.T) {
			start := time.Now()
			k, err := s.Get(ctx, mustSpec(t, spec), testLog{t})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Get: %s; CC %q; mismatch %q", time.Since(start), k.CC, k.CompilerMismatch)
			checkKernel(t, k)
			if k.CompilerMismatch == "" {
				buildHello(t, k, nil)
			}
		})
	}
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/internal/flock"
)

// Kernels built with a newer gcc than the host's (Debian's 6.12+deb13 with
// gcc-14, 7.x with gcc-16) pass that gcc's options to every module build,
// and the host's gcc rejects them (gcc 12 on -fmin-function-alignment).
// Such a kernel gets a build root: a debootstrap --variant=minbase of its
// Debian suite with its gcc, make and the module build's tools, made once
// per suite and compiler and shared. Modules build inside it (see
// [Kernel.ModuleMake]); the kernel's entry and the module's directory are
// bind-mounted in a private mount namespace, so nothing outlives the build.
//
// The other way, a build of the same source with the host's gcc, is
// debian-src:SERIES.

// Toolchain is a build root in the store.
type Toolchain struct {
	Name     string `json:"name"`     // "trixie-gcc-14@20261129", the directory
	Suite    string `json:"suite"`    // "trixie"
	Compiler string `json:"compiler"` // the package installed: "gcc-14"
	// Command is the compiler's command when it is not Compiler: a cross
	// gcc's, "aarch64-linux-gnu-gcc-14" (package gcc-14-aarch64-linux-gnu).
	Command  string    `json:"command,omitempty"`
	Version  string    `json:"version"`  // its gcc -dumpfullversion: "14.2.0"
	Packages []string  `json:"packages"` // what debootstrap was asked to include
	Mirror   string    `json:"mirror"`
	Created  time.Time `json:"created"`

	Dir      string    `json:"-"`
	LastUsed time.Time `json:"-"`
}

const toolchainManifest = "toolchain.json"

// maxToolchainAge is when a build root is made afresh: sid's compilers
// move, and a month-old gcc-16 may no longer match the kernels.
const maxToolchainAge = 30 * 24 * time.Hour

// toolchainPackages are installed besides the compiler: what kbuild runs
// for an out-of-tree module. Debian's kernels have BTF, and kbuild runs
// pahole (dwarves) on every module of a kernel with CONFIG_DEBUG_INFO_BTF_MODULES.
var toolchainPackages = []string{"make", "libc6-dev", "libelf-dev", "bc", "flex", "bison", "dwarves"}

// The module build sees the kernel's entry and the module here.
const (
	rootKbuild = "/cnvmtest/kbuild"
	rootModule = "/cnvmtest/module"
)

// toolchainSuite is the suite whose compilers built kernels from suites:
// trixie for trixie-security and trixie-backports, sid for experimental,
// which is no complete suite.
func toolchainSuite(suites []string) string {
	for _, s := range suites {
		base, _, _ := strings.Cut(s, "-")
		if base != "experimental" && base != "" {
			return base
		}
	}
	return "sid"
}

// moduleRoute works out how modules build for k on this host: with the
// host's gcc, with CC=gcc for a kernel whose older gcc the host lacks
// (Debian's headers call gcc-N by name; Debian's 5.10 builds modules with
// gcc 12 this way), or in a build root with the kernel's newer gcc.
func (s *Store) moduleRoute(ctx context.Context, k *Kernel, p *progress) error {
	if k.Arch != "" {
		return s.crossRoute(ctx, k, p)
	}
	host, hostErr := hostGCC()
	full, _ := hostCompiler()
	k.ModuleCC = "gcc " + full
	kind, major := parseCC(k.CC)
	if hostErr != nil || kind != "gcc" {
		return nil
	}
	switch {
	case major < host:
		if _, err := exec.LookPath(fmt.Sprintf("gcc-%d", major)); err != nil {
			k.ModuleMakeArgs = []string{"CC=gcc"}
		}
		k.CompilerMismatch = ""
	case major > host:
		if k.Source != SourceDebian {
			return nil // no suite to take a compiler from
		}
		suite, compiler := toolchainSuite(k.Suites), fmt.Sprintf("gcc-%d", major)
		tc, err := s.toolchain(ctx, suite, compiler, "", p)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			k.CompilerMismatch += fmt.Sprintf("; no %s build root: %v", compiler, err)
			return nil
		}
		k.BuildRoot, k.ModuleCC, k.CompilerMismatch = tc.Dir, fmt.Sprintf("%s %s in %s", compiler, tc.Version, suite), ""
		s.markUsed(filepath.Join("toolchains", tc.Name))
		p.printf("modules build with %s in %s", compiler, tc.Dir)
	}
	return nil
}

// toolchain returns the newest build root for suite and compiler (a
// package; command is its gcc's command when that is not the package's
// name), making one if there is none younger than maxToolchainAge.
func (s *Store) toolchain(ctx context.Context, suite, compiler, command string, p *progress) (*Toolchain, error) {
	name := suite + "-" + compiler
	newest := func() *Toolchain {
		tcs, _ := s.Toolchains()
		for _, tc := range tcs {
			// A root made with fewer packages than are wanted now is old.
			if tc.Suite == suite && tc.Compiler == compiler &&
				!slices.ContainsFunc(toolchainPackages, func(p string) bool { return !slices.Contains(tc.Packages, p) }) {
				return tc
			}
		}
		return nil
	}
	if tc := newest(); tc != nil && time.Since(tc.Created) < maxToolchainAge {
		return tc, nil
	}
	lock, _ := s.path("locks", "toolchain-"+name+".lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		return nil, err
	}
	unlock, err := flock.Lock(ctx, lock, true, func() { p.printf("waiting for another process making the %s build root", name) })
	if err != nil {
		return nil, err
	}
	defer unlock()
	old := newest()
	if old != nil && time.Since(old.Created) < maxToolchainAge {
		return old, nil
	}
	tc, err := s.makeToolchain(ctx, suite, compiler, command, p)
	if err != nil && old != nil {
		p.printf("warning: making a new %s build root: %v; using the one of %s", name, err, old.Created.Format(time.DateOnly))
		return old, nil
	}
	return tc, err
}

func (s *Store) makeToolchain(ctx context.Context, suite, compiler, command string, p *progress) (*Toolchain, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("making a build root with debootstrap needs root; run once as root, or use debian-src:SERIES, which builds the kernel with the host's gcc")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return nil, fmt.Errorf("making a build root needs debootstrap (apt-get install debootstrap; make deps installs it): %w", err)
	}
	tc := &Toolchain{
		Suite: suite, Compiler: compiler, Command: command, Mirror: mirror() + "/debian", Created: time.Now().UTC(),
		Packages: append([]string{compiler}, toolchainPackages...),
	}
	tc.Name = fmt.Sprintf("%s-%s@%s", suite, compiler, tc.Created.Format("20060102"))
	tmpDir, _ := s.path("tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(tmpDir, "toolchain-"+tc.Name+".")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root) // a no-op once renamed
	// MkdirTemp's 0700 would lock out builds in user namespaces.
	if err := os.Chmod(root, 0o755); err != nil {
		return nil, err
	}
	log, err := newBuildLog(filepath.Join(root, "..", filepath.Base(root)+".log"))
	if err != nil {
		return nil, err
	}
	defer os.Remove(log.name)
	defer log.close()

	p.printf("making a %s build root with %s (debootstrap --variant=minbase; once per month)", suite, compiler)
	start := time.Now()
	args := []string{"--variant=minbase", "--arch=amd64", "--components=main",
		"--include=" + strings.Join(tc.Packages, ","), suite, root, tc.Mirror}
	if k := archiveKeyring(); k != "" {
		args = append([]string{"--keyring=" + k}, args...)
	}
	if _, err := os.Stat("/usr/share/debootstrap/scripts/" + suite); err != nil {
		args = append(args, "/usr/share/debootstrap/scripts/sid") // a suite newer than this debootstrap
	}
	stop := p.every(progressInterval, func() string {
		return fmt.Sprintf("debootstrap for %s: %s", since(start).Round(time.Second), log.lastLine())
	})
	err = log.run(ctx, tmpDir, "debootstrap", args...)
	stop()
	if err != nil {
		return nil, fmt.Errorf("debootstrap %s: %w", suite, err)
	}
	// The downloaded packages are a third of the root.
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	for _, d := range []string{rootKbuild, rootModule} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	gcc := compiler
	if command != "" {
		gcc = command
	}
	out, err := exec.CommandContext(ctx, "chroot", root, gcc, "-dumpfullversion").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s in the new root: %w", gcc, err)
	}
	tc.Version = strings.TrimSpace(string(out))
	b, err := json.MarshalIndent(tc, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(root, toolchainManifest), append(b, '\n')); err != nil {
		return nil, err
	}
	dir, _ := s.path("toolchains", tc.Name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(root, dir); err != nil {
		return nil, err
	}
	tc.Dir = dir
	p.printf("made the build root in %s: %s %s", since(start), compiler, tc.Version)
	return tc, nil
}

// Toolchains returns the build roots in the store, newest first.
func (s *Store) Toolchains() ([]*Toolchain, error) {
	dir, ents, err := s.entries("toolchains")
	if err != nil {
		return nil, err
	}
	var tcs []*Toolchain
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), toolchainManifest))
		if err != nil {
			continue
		}
		tc := &Toolchain{}
		if json.Unmarshal(b, tc) != nil || tc.Name != e.Name() {
			continue
		}
		tc.Dir = filepath.Join(dir, e.Name())
		tc.LastUsed = s.usedAt(filepath.Join("toolchains", tc.Name), tc.Created)
		tcs = append(tcs, tc)
	}
	slices.SortFunc(tcs, func(a, b *Toolchain) int { return b.Created.Compare(a.Created) })
	return tcs, nil
}

// ModuleMake returns the command that builds the out-of-tree module in dir
// against k: "make -C BuildDir M=dir modules", then ModuleMakeArgs and
// extra. Without a BuildRoot it runs on the host. With one, it runs
// chrooted into it, in a private mount namespace (unshare(1)) where the
// kernel's entry and dir are bind-mounted at /cnvmtest/kbuild and
// /cnvmtest/module, and the host's /proc at /proc; dir is written to as on
// the host. Outside root, that
// needs unprivileged user namespaces.
func (k *Kernel) ModuleMake(ctx context.Context, dir string, extra ...string) *exec.Cmd {
	args := append(append([]string{"modules"}, k.ModuleMakeArgs...), extra...)
	if slices.Contains(k.ModuleMakeArgs, GcovProfileArg) {
		// The module's .gcno names its sources relative to its directory,
		// which the module cache renames once built.
		in := dir
		if k.BuildRoot != "" {
			in = rootModule
		}
		args = append(args, "KCFLAGS="+prefixMapFlag(in, ""))
	}
	if k.BuildRoot == "" {
		return exec.CommandContext(ctx, "make", append([]string{"-C", k.BuildDir, "M=" + dir}, args...)...)
	}
	rel, err := filepath.Rel(k.Dir, k.BuildDir)
	if err != nil || !filepath.IsLocal(rel) {
		rel = "." // load guarantees BuildDir is inside Dir
	}
	unshare := []string{"--mount"}
	if os.Geteuid() != 0 {
		unshare = []string{"--user", "--map-root-user", "--mount"}
	}
	// 7.x's objtool reads /proc (read_stack_limit in its signal.c).
	const script = `set -e
mount --bind "$1" "$3` + rootKbuild + `"
mount --bind "$2" "$3` + rootModule + `"
mount --rbind /proc "$3/proc"
root=$3
shift 3
exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin LC_ALL=C HOME=/tmp "$@"`
	cmdline := append(unshare, "--", "sh", "-c", script, "cnvmtest-module-build", k.Dir, dir, k.BuildRoot,
		"make", "-C", filepath.Join(rootKbuild, rel), "M="+rootModule)
	return exec.CommandContext(ctx, "unshare", append(cmdline, args...)...)
}

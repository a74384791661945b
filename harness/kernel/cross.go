// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Modules for a kernel of another architecture (arm64, s390x) are
// cross-built here, out of tree, against its Debian headers: with the
// host's linux-kbuild programs (fixdep, modpost; see dependencyArch), the
// kernel's ARCH (arm64, s390) and CROSS_COMPILE=aarch64-linux-gnu- or
// s390x-linux-gnu-. Debian's headers ask for $(CROSS_COMPILE)gcc-N, the
// gcc that built the kernel (their .kernelvariables), which Debian 12's
// gcc-aarch64-linux-gnu and gcc-s390x-linux-gnu provide for their own gcc
// 12. Kernels built with a newer gcc (trixie's gcc-14) pass options that
// gcc 12 does not know (-fmin-function-alignment), and Debian 12 packages
// no newer cross gcc: their modules build in a build root of the kernel's
// suite with its cross gcc (gcc-14-aarch64-linux-gnu), made once per
// suite, compiler and architecture, as for native kernels (toolchain.go).

// crossTarget is what cross-builds for an architecture: Debian's package
// of the compiler, the make target that installs it, and the prefix of
// its commands.
type crossTarget struct {
	arch, prefix, pkg string
	karch             string // the kernel's ARCH= (arch/s390 for s390x)
}

var crossTargets = map[string]crossTarget{
	Arm64: {arch: Arm64, karch: "arm64", prefix: "aarch64-linux-gnu-", pkg: "gcc-aarch64-linux-gnu"},
	S390x: {arch: S390x, karch: "s390", prefix: "s390x-linux-gnu-", pkg: "gcc-s390x-linux-gnu"},
}

// ToolPrefix is the prefix of the commands of the toolchain k's modules
// are built with: the cross toolchain's (aarch64-linux-gnu-) for a kernel
// of another architecture, "" for the host's own.
func (k *Kernel) ToolPrefix() string { return crossTargets[k.Arch].prefix }

// CrossCompilerError is a kernel of another architecture whose modules
// cannot be cross-built here: the cross compiler is missing, or older than
// the one that built the kernel. It is found before anything is downloaded
// (from the compiler the headers depend on).
type CrossCompilerError struct {
	Kernel string // the spec or release
	Reason string
}

// Error is the reason alone: Get and Resolve name the kernel.
func (e *CrossCompilerError) Error() string { return e.Reason }

// crossGCC returns the cross gcc's command and its version ("12.2.0"),
// once per architecture.
var crossGCC = func() func(arch string) (cmd, version string, err error) {
	var mu sync.Mutex
	type answer struct{ cmd, version string }
	known := map[string]answer{}
	return func(arch string) (string, string, error) {
		t, ok := crossTargets[arch]
		if !ok {
			return "", "", fmt.Errorf("no cross compiler known for %s", arch)
		}
		mu.Lock()
		defer mu.Unlock()
		if a, ok := known[arch]; ok {
			return a.cmd, a.version, nil
		}
		cmd := t.prefix + "gcc"
		if _, err := exec.LookPath(cmd); err != nil {
			// Not remembered: installing it mid-process (a long matrix) is fine.
			return "", "", fmt.Errorf("modules for %s kernels are cross-built with %s, which is missing: install it with `make deps-%s` (Debian package %s)",
				arch, cmd, arch, t.pkg)
		}
		out, err := exec.Command(cmd, "-dumpfullversion").Output()
		if err != nil {
			return "", "", fmt.Errorf("%s -dumpfullversion: %w", cmd, err)
		}
		known[arch] = answer{cmd, strings.TrimSpace(string(out))}
		return cmd, known[arch].version, nil
	}
}()

// CheckCrossCompiler says whether modules can be cross-built for the
// spec's architecture here; nil for the host's.
func CheckCrossCompiler(spec Spec) error {
	if spec.arch() == HostArch {
		return nil
	}
	if _, _, err := crossGCC(spec.arch()); err != nil {
		return &CrossCompilerError{Kernel: spec.String(), Reason: err.Error()}
	}
	return nil
}

// crossCompilerFits refuses, before any download, a foreign kernel whose
// modules cannot cross-build here: no cross gcc, or a kernel built with
// another compiler than gcc (compiler is "gcc-14", "clang-19").
func crossCompilerFits(spec Spec, compiler string) error {
	if spec.arch() == HostArch {
		return nil
	}
	cmd, version, err := crossGCC(spec.arch())
	if err != nil {
		return &CrossCompilerError{Kernel: spec.String(), Reason: err.Error()}
	}
	// A gcc newer than the cross gcc is the cross gcc of the kernel's
	// suite, in a build root made once (crossRoute).
	if kind, _, _ := strings.Cut(compiler, "-"); compiler != "" && kind != "gcc" {
		return &CrossCompilerError{Kernel: spec.String(), Reason: fmt.Sprintf("built with %s: cross builds of modules use gcc only (%s %s)", compiler, cmd, version)}
	}
	return nil
}

func majorOf(version string) int {
	m, _, _ := strings.Cut(version, ".")
	n, _ := strconv.Atoi(m)
	return n
}

// crossRoute sets how modules cross-build for k, a kernel of another
// architecture: make's ARCH and CROSS_COMPILE, and CC when the headers'
// gcc-N (the kernel's own gcc) has no cross version here but an older
// kernel builds with the newer cross gcc (as 5.10 does with gcc 12 on
// amd64, see moduleRoute).
//
// A Debian kernel built with a newer gcc than the host's cross gcc
// (trixie's gcc 14) gets a build root of its suite with that suite's cross
// gcc (gcc-14-aarch64-linux-gnu), made once and shared as the native
// build roots are (toolchain.go); the headers' Makefile then finds the
// $(CROSS_COMPILE)gcc-14 it asks for.
func (s *Store) crossRoute(ctx context.Context, k *Kernel, p *progress) error {
	cmd, version, err := crossGCC(k.Arch)
	if err != nil {
		return &CrossCompilerError{Kernel: k.Release, Reason: err.Error()}
	}
	t := crossTargets[k.Arch]
	k.ModuleCC = cmd + " " + version
	k.ModuleMakeArgs = []string{"ARCH=" + t.karch, "CROSS_COMPILE=" + t.prefix}
	k.CompilerMismatch = crossMismatch(k, version)
	if kind, major := parseCC(k.CC); k.CompilerMismatch != "" && kind == "gcc" && major > majorOf(version) && k.Source == SourceDebian {
		suite := toolchainSuite(k.Suites)
		pkg := fmt.Sprintf("gcc-%d-%s", major, strings.TrimSuffix(t.prefix, "-"))
		gcc := fmt.Sprintf("%sgcc-%d", t.prefix, major)
		tc, err := s.toolchain(ctx, suite, pkg, gcc, p)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &CrossCompilerError{Kernel: k.Release, Reason: fmt.Sprintf("built with gcc %d, newer than the cross compiler %s %s, and no %s build root of %s: %v", major, cmd, version, pkg, suite, err)}
		}
		k.BuildRoot, k.ModuleCC, k.CompilerMismatch = tc.Dir, fmt.Sprintf("%s %s in %s", gcc, tc.Version, suite), ""
		s.markUsed(filepath.Join("toolchains", tc.Name))
		p.printf("modules cross-build with %s in %s", gcc, tc.Dir)
		return nil
	}
	if k.CompilerMismatch != "" {
		return &CrossCompilerError{Kernel: k.Release, Reason: k.CompilerMismatch}
	}
	if kind, major := parseCC(k.CC); kind == "gcc" && major < majorOf(version) {
		if _, err := exec.LookPath(fmt.Sprintf("%sgcc-%d", t.prefix, major)); err != nil {
			k.ModuleMakeArgs = append(k.ModuleMakeArgs, "CC="+cmd)
		}
	}
	return nil
}

// crossMismatch explains why modules will not cross-build for k with a
// cross gcc of version, or returns "".
func crossMismatch(k *Kernel, version string) string {
	kind, major := parseCC(k.CC)
	have := majorOf(version)
	switch {
	case kind == "":
		return fmt.Sprintf("kernel built with an unrecognised compiler %q", k.CC)
	case kind != "gcc":
		return fmt.Sprintf("kernel built with %s (%q): cross builds of modules use gcc only", kind, k.CC)
	case major > have:
		return fmt.Sprintf("kernel built with gcc %d (%q), newer than the cross gcc %d, which lacks its options: not supported yet", major, k.CC, have)
	}
	return ""
}

// loadMismatch is CompilerMismatch for a stored kernel: against the host's
// gcc, or for another architecture against its cross gcc.
func loadMismatch(k *Kernel) string {
	if k.Arch == "" {
		host, hostErr := hostGCC()
		return compilerMismatch(k.CC, host, hostErr)
	}
	_, version, err := crossGCC(k.Arch)
	if err != nil {
		return err.Error()
	}
	return crossMismatch(k, version)
}

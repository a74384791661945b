// SPDX-License-Identifier: MIT

package kernel

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// Modules for a kernel of another architecture (arm64) are cross-built
// here, out of tree, against its Debian headers: with the host's
// linux-kbuild programs (fixdep, modpost; see dependencyArch), ARCH=arm64
// and CROSS_COMPILE=aarch64-linux-gnu-. Debian's arm64 headers ask for
// $(CROSS_COMPILE)gcc-N, the gcc that built the kernel (their
// .kernelvariables), which Debian 12's gcc-aarch64-linux-gnu provides for
// its own gcc 12. Kernels built with a newer gcc (trixie's gcc-14) are
// refused for now: their options (-fmin-function-alignment) are unknown to
// gcc 12, and no cross gcc 14 is packaged for Debian 12.

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
// headers depend on a newer gcc (compiler is "gcc-14") than the cross gcc.
func crossCompilerFits(spec Spec, compiler string) error {
	if spec.arch() == HostArch {
		return nil
	}
	cmd, version, err := crossGCC(spec.arch())
	if err != nil {
		return &CrossCompilerError{Kernel: spec.String(), Reason: err.Error()}
	}
	kind, n, _ := strings.Cut(compiler, "-")
	major, _ := strconv.Atoi(n)
	have := majorOf(version)
	switch {
	case compiler == "":
		return nil // the headers name none: the module build decides
	case kind != "gcc":
		return &CrossCompilerError{Kernel: spec.String(), Reason: fmt.Sprintf("built with %s: cross builds of modules use gcc only (%s %s)", compiler, cmd, version)}
	case major > have:
		return &CrossCompilerError{Kernel: spec.String(), Reason: fmt.Sprintf(
			"built with %s, newer than the cross compiler %s %s, which lacks its options; cross-building modules for it is not supported yet: "+
				"choose a kernel built with gcc %d (debian:6.1@%s, debian:6.12+deb12@%s)", compiler, cmd, version, have, spec.arch(), spec.arch())}
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
func crossRoute(k *Kernel) error {
	cmd, version, err := crossGCC(k.Arch)
	if err != nil {
		return &CrossCompilerError{Kernel: k.Release, Reason: err.Error()}
	}
	t := crossTargets[k.Arch]
	k.ModuleCC = cmd + " " + version
	k.ModuleMakeArgs = []string{"ARCH=" + t.karch, "CROSS_COMPILE=" + t.prefix}
	k.CompilerMismatch = crossMismatch(k, version)
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

// SPDX-License-Identifier: MIT

package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cnvmtest "github.com/cnvmtest/cnvmtest"
	"github.com/cnvmtest/cnvmtest/harness/build"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/cnvmtest/cnvmtest/initramfs"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// UsageError is a mistake in the caller's options: a kernel spec that does
// not parse, a path that does not exist, a mode that is not one. Run and
// Check find it before anything is downloaded, built or written.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// run is one run's state, built from the caller's Options by newRun. The
// options it holds are a copy with the defaults filled in, read-only from
// then on; what the run learns on the way is kept in its own fields.
type run struct {
	o     Options
	spec  kernel.Spec
	init  Init
	shell bool
	qemu  *vm.QEMU
	// progress receives what a person watching wants to know (the
	// kernel chosen, the accelerator, the console log's path); it is
	// io.Discard when standard error must carry only errors.
	progress io.Writer

	res         *Result
	boot        *bootArgs
	testsImport string // import path of the test package
	// explained is the taint that known kernel bugs account for, by
	// test ("" for the whole run).
	explained map[string]klog.Taint
	release   func() // ends the run's hold on its kernel in the store
}

// Check validates o as Run does before it starts: every kernel spec of a
// comma-separated list, the paths, the modes and the VMTEST_* variables.
// Its error is a *UsageError.
func (o Options) Check() error {
	for _, k := range kernel.SplitSpecs(o.Kernel) {
		ko := o
		ko.Kernel = k
		if _, err := newRun(ko, false); err != nil {
			var u *UsageError
			if errors.As(err, &u) {
				return err
			}
		}
	}
	return nil
}

// newRun checks the options and fills in their defaults.
func newRun(o Options, shell bool) (*run, error) {
	r := &run{o: o, shell: shell, res: &Result{}}
	p := &r.o // the run's own copy: the caller's o is never written
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	r.progress = p.Stderr
	if !p.Verbose && (p.JSON || p.Quiet) {
		r.progress = io.Discard
	}
	if p.Kernel == "" {
		p.Kernel = kernel.DefaultSpec
	}
	spec, err := kernel.ParseSpec(p.Kernel)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	r.spec = spec
	if p.Accel == "" {
		p.Accel = AccelAuto
	}
	if !p.Accel.Valid() {
		return nil, usagef("unknown accelerator %q: want %s", p.Accel, join(AccelModes))
	}
	if p.Init == "" {
		p.Init = InitRunner
	}
	if !p.Init.Valid() {
		return nil, usagef("unknown init %q: want %s", p.Init, join(Inits))
	}
	r.init = p.Init
	if shell {
		r.init = InitURoot // the shell is u-root's
	}
	if r.init == InitURoot && p.Repo == "" {
		return nil, usagef("%s needs the cnvmtest source tree, whose go.mod pins the u-root base image: run it inside a cnvmtest checkout or pass -repo DIR",
			map[bool]string{true: "the shell", false: "-init u-root"}[shell])
	}
	if p.CoverProfile != "" || p.CoverPkg != "" {
		p.Cover = true
	}
	if p.Cover && (shell || len(p.Exec) > 0) {
		return nil, usagef("-cover, -coverprofile and -coverpkg are for test runs; under go test -exec give -cover to go test")
	}
	if p.Cover && p.CoverPkg == "" && p.Repo != "" && p.TestsPkg == "" {
		p.CoverPkg = "github.com/cnvmtest/cnvmtest/connector" // vmtests holds only tests
	}
	if p.CoverProfile != "" {
		if p.CoverProfile, err = filepath.Abs(p.CoverProfile); err != nil {
			return nil, usagef("-coverprofile: %v", err)
		}
	}
	switch p.KernelCoverage {
	case "", KernelCoverageOff, KernelCoverageRun, KernelCoveragePerTest:
	default:
		return nil, usagef("unknown -coverage mode %q: want %s, %s or %s", p.KernelCoverage, KernelCoverageRun, KernelCoveragePerTest, KernelCoverageOff)
	}
	if p.KernelCoverage != "" && p.KernelCoverage != KernelCoverageOff {
		if shell || len(p.Exec) > 0 {
			return nil, usagef("-coverage %s is for test runs, not for cnvmtest exec or the shell", p.KernelCoverage)
		}
		if why := kernel.NoGcov(spec); why != "" {
			return nil, usagef("-coverage %s on %s: %s; use a coverage kernel such as debian-src:6.12@coverage (make coverage)", p.KernelCoverage, spec, why)
		}
	}
	if p.Timeout < 0 || p.TestTimeout < 0 || p.Count < 0 || p.CPUs < 0 || p.MemoryMB < 0 {
		return nil, usagef("negative -timeout, -test-timeout, -count, -cpus or -mem")
	}
	if err := r.checkPaths(); err != nil {
		return nil, err
	}
	if err := vm.CheckEnv(spec.Architecture()); err != nil {
		return nil, &UsageError{Err: err}
	}
	if spec.Architecture() != kernel.HostArch {
		if p.Repo == "" {
			// The runner is then this binary, which is the host's.
			return nil, usagef("%s guests need a cnvmtest source tree to build the guest runner for them: run inside a cnvmtest checkout or pass -repo DIR", spec.Architecture())
		}
		if p.Accel == AccelKVM {
			return nil, usagef("-accel kvm: KVM runs guests of the host's architecture (%s) only; %s guests are emulated (TCG)", kernel.HostArch, spec.Architecture())
		}
	}
	return r, nil
}

// checkPaths makes every path absolute and checks that it is there.
func (r *run) checkPaths() error {
	p := &r.o
	abs := func(what string, path *string, dir bool) error {
		if *path == "" {
			return nil
		}
		a, err := filepath.Abs(*path)
		if err != nil {
			return usagef("%s %s: %v", what, *path, err)
		}
		st, err := os.Stat(a)
		switch {
		case err != nil:
			return usagef("%s: %v", what, err)
		case dir && !st.IsDir():
			return usagef("%s %s is not a directory", what, a)
		case !dir && st.IsDir():
			return usagef("%s %s is a directory", what, a)
		}
		*path = a
		return nil
	}
	if p.Repo != "" {
		if err := abs("-repo", &p.Repo, true); err != nil {
			return err
		}
	}
	if p.KmodDir == "" && p.Repo != "" {
		p.KmodDir = filepath.Join(p.Repo, "kmod")
	}
	if err := abs("module directory (-kmod)", &p.KmodDir, true); err != nil {
		return err
	}
	if p.KmodDir != "" && !exists(filepath.Join(p.KmodDir, "Kbuild")) && !exists(filepath.Join(p.KmodDir, "Makefile")) {
		return usagef("module directory (-kmod) %s has no Kbuild or Makefile: give the directory of an out-of-tree kernel module", p.KmodDir)
	}
	p.Files = append([]string(nil), p.Files...)
	for i := range p.Files {
		if err := abs("file for the guest (-file)", &p.Files[i], false); err != nil {
			return err
		}
	}
	if p.OutDir == "" {
		p.OutDir = "out"
	}
	var err error
	if p.OutDir, err = filepath.Abs(p.OutDir); err != nil {
		return usagef("-out: %v", err)
	}
	if p.JUnit != "" {
		if p.JUnit, err = filepath.Abs(p.JUnit); err != nil {
			return usagef("-junit: %v", err)
		}
	}
	switch {
	case r.shell:
	case len(p.Exec) > 0:
		p.Exec = append([]string(nil), p.Exec...)
		if err := abs("program", &p.Exec[0], false); err != nil {
			return err
		}
		if err := checkStaticFor(p.Exec[0], r.spec.Architecture()); err != nil {
			return &UsageError{Err: err}
		}
		if err := abs("working directory", &p.WorkDir, true); err != nil {
			return err
		}
	default:
		if p.TestsPkg == "" {
			if p.Repo == "" {
				return usagef("no test package: give -tests PKG (a Go test package or its directory), or run a program with cnvmtest exec")
			}
			p.TestsDir, p.TestsPkg = p.Repo, "./vmtests"
		}
		if p.TestsDir == "" {
			p.TestsDir = "."
		}
		if err := abs("test package directory", &p.TestsDir, true); err != nil {
			return err
		}
		if local(p.TestsPkg) {
			if d := filepath.Join(p.TestsDir, p.TestsPkg); !isDir(d) {
				return usagef("test package %s: no directory %s", p.TestsPkg, d)
			}
		}
	}
	return nil
}

// local reports whether a package pattern is a relative directory.
func local(pkg string) bool {
	return pkg == "." || pkg == ".." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// openStore returns the kernel store and, before anything is fetched,
// QEMU (and for another architecture, the cross compiler): a host without
// them learns so before a download.
func (r *run) openStore() (*kernel.Store, error) {
	q, err := vm.FindQEMUFor("", r.spec.Architecture())
	if err != nil {
		return nil, err
	}
	if err := kernel.CheckCrossCompiler(r.spec); err != nil {
		return nil, err
	}
	r.qemu = q
	if r.o.Store != nil {
		return r.o.Store, nil
	}
	return kernel.DefaultStore()
}

// phase records the wall time of a step.
func (r *run) phase(name string, d time.Duration) {
	r.res.Phases = append(r.res.Phases, Phase{name, d})
	if r.o.Verbose {
		fmt.Fprintf(r.o.Stderr, "cnvmtest: phase %-11s %7.2fs\n", name, d.Seconds())
	}
}

// close ends the run's hold on its kernel.
func (r *run) close() {
	if r.release != nil {
		r.release()
	}
}

// runnerFiles returns the guest runner as the guest's /init. With a source
// tree it is built from it (a small static program, kept between runs);
// without one the running binary is the runner (see cmd/cnvmtest), with
// its ELF interpreter and libraries when it is dynamically linked, as
// `go install` links it by default.
func (r *run) runnerFiles(ctx context.Context, binCache, bin, inputs string) ([]initramfs.File, error) {
	if r.o.Repo != "" {
		runner := filepath.Join(bin, "runner")
		err := build.Stable(ctx, binCache, "runner", runner, inputs, func(p string) error {
			return build.Program(ctx, r.spec.Architecture(), r.o.Repo, "./initramfs/runner", p)
		})
		if err != nil {
			return nil, err
		}
		return []initramfs.File{{Name: "init", Source: runner}}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to boot it as the guest runner: %w", err)
	}
	if self, err = filepath.EvalSymlinks(self); err != nil {
		return nil, fmt.Errorf("finding this program to boot it as the guest runner: %w", err)
	}
	files := []initramfs.File{{Name: "init", Source: self}}
	libs, err := initramfs.SharedLibraries(self)
	if err != nil {
		return nil, fmt.Errorf("the guest runner (this program, %s): %w", self, err)
	}
	return append(files, libs...), nil
}

// Limits of the working directory exec copies into the guest: go test
// -exec runs in a package directory, whose testdata rarely holds more.
const (
	maxWorkDirFiles = 4096
	maxWorkDirBytes = 256 << 20
)

// workDirFiles lists the files of dir for the guest, staged under
// guest.WorkDirStage: the runner mounts them at dir's own path once the
// guest's file systems are up (a tmpfs on /tmp would hide them there).
func workDirFiles(dir string) ([]initramfs.File, error) {
	var files []initramfs.File
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // sockets, devices; symlinks are not followed
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += info.Size()
		files = append(files, initramfs.File{Name: guest.WorkDirStage + p, Source: p, Mode: uint64(info.Mode().Perm())})
		if len(files) > maxWorkDirFiles || size > maxWorkDirBytes {
			return fmt.Errorf("working directory %s is too large to copy into the guest (more than %d files or %d MiB): run from the package's directory",
				dir, maxWorkDirFiles, maxWorkDirBytes>>20)
		}
		return nil
	})
	return files, err
}

// coverFiles returns where go test -cover tells a test binary it runs
// under -exec to write coverage: the counters' directory
// (-test.gocoverdir) and the profile (-test.coverprofile), host paths
// that the runner creates in the guest and whose files it sends back.
func coverFiles(args []string) (dir, profile string) {
	for _, a := range args {
		if d, ok := strings.CutPrefix(a, "-test.gocoverdir="); ok {
			dir = d
		}
		if p, ok := strings.CutPrefix(a, "-test.coverprofile="); ok {
			profile = p
		}
	}
	return dir, profile
}

// embeddedModule writes the cn_echo sources this binary carries (package
// kmod) to the store, once per content, and returns their directory.
func embeddedModule(storeDir string) (string, error) {
	dir := filepath.Join(storeDir, "kmod-src", cnvmtest.KmodHash())
	if exists(filepath.Join(dir, "Kbuild")) {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".kmod-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".kmod-"); err != nil {
			return "", err
		}
	}
	if err := os.CopyFS(tmp, cnvmtest.Kmod()); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("writing the embedded module sources: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if exists(filepath.Join(dir, "Kbuild")) {
			return dir, nil // another run wrote it first
		}
		return "", err
	}
	return dir, nil
}

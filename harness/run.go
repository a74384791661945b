// SPDX-License-Identifier: MIT

package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/build"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/cnvmtest/cnvmtest/initramfs"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// Run performs one run. An error means the harness could not do its job:
// a *UsageError when the options are wrong (found before anything is
// downloaded, built or written), otherwise INFRA; what the kernel and the
// tests did is in the Result.
func Run(ctx context.Context, o Options) (*Result, error) {
	r, err := start(ctx, o, false)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		if r != nil && r.res.RunDir != "" {
			return r.res, err
		}
		return nil, err
	}
	if r.boot == nil {
		// Decided before the boot (the module did not build): report
		// it like any other outcome.
		rec := report.NewRecorder(report.Options{Out: r.o.Stdout, JSON: r.o.JSON, Package: r.o.TestsPkg})
		rec.Finish(r.res.Outcome, r.res.Reason)
		r.res.Summary = rec.Summary()
		if r.o.JUnit != "" {
			return r.res, r.writeJUnit(rec)
		}
		return r.res, nil
	}
	return r.res, r.run(ctx)
}

// start is the prologue Run and Shell share: it checks the options, then
// gets the kernel, builds the module and the guest binaries and writes the
// initramfs. A run with a nil boot and a nil error already has its outcome
// (the module did not build).
func start(ctx context.Context, o Options, shell bool) (*run, error) {
	r, err := newRun(o, shell)
	if err != nil {
		return nil, err
	}
	r.boot, err = r.prepare(ctx)
	return r, err
}

// prepare does everything before the boot: kernel, module, guest binaries
// and initramfs. A nil bootArgs with a nil error means the run already has
// its outcome (the module did not build). A shell gets no test binary.
//
// The guest binaries need no kernel, so they are built (or found) while
// the kernel is got and the module built: on a warm run the two take about
// as long, and they overlap.
func (r *run) prepare(ctx context.Context) (*bootArgs, error) {
	o, res := &r.o, r.res
	store, err := r.openStore()
	if err != nil {
		return nil, err
	}
	if r.spec.Source == kernel.SourceDebian {
		// A kernel Debian's archive can no longer build modules for, or
		// one of another architecture built with a newer gcc than the
		// cross compiler, is refused here, before a run directory or a
		// download (the resolution is kept, so the fetch below does not
		// repeat it).
		var unbuildable *kernel.UnbuildableError
		var cross *kernel.CrossCompilerError
		if _, err := store.Resolve(ctx, r.spec, r.progress); errors.As(err, &unbuildable) || errors.As(err, &cross) {
			return nil, &UsageError{Err: err}
		}
	}
	runDir, err := newRunDir(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	res.RunDir = runDir

	start := time.Now()
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	guestc := make(chan guestPrep, 1)
	go func() {
		g := r.prepareGuest(gctx, runDir, store)
		if g.err != nil {
			cancel()
		}
		guestc <- g
	}()
	k, ko, kerr := r.prepareKernel(gctx, store)
	if kerr != nil || ko == "" {
		cancel()
	}
	g := <-guestc
	switch {
	case kerr != nil && g.err != nil && ctx.Err() == nil && errors.Is(kerr, context.Canceled):
		return nil, g.err // the guest side failed first and stopped the kernel side
	case kerr != nil:
		return nil, kerr
	case ko == "" && res.Outcome != "":
		return nil, nil // MODULE_BUILD_FAIL, already reported
	case g.err != nil:
		return nil, g.err
	}
	r.phase("binaries", g.elapsed)
	r.phase("prepare", time.Since(start))
	fmt.Fprintf(r.progress, "cnvmtest: accelerator %s: %s\n", g.accel, g.accelWhy)
	r.testsImport = g.testsImport
	res.Accel, res.Module, res.CPUs, res.MemoryMB = g.accel, ko, g.cpus, o.MemoryMB
	res.Arch, res.Emulator = r.spec.Architecture(), vm.Emulator(g.qemu, r.spec.Architecture(), g.accel)
	fmt.Fprintf(r.progress, "cnvmtest: guest %s on %s\n", res.Arch, res.Emulator)
	if res.MemoryMB == 0 {
		res.MemoryMB = guestMemory(k)
	}

	// Initramfs.
	t := time.Now()
	cfg := g.cfg
	cfg.Module = "/" + guest.Dir + "/" + filepath.Base(ko)
	if cfg.Gcov, err = r.kernelCoverageMode(k); err != nil {
		return nil, err
	}
	guestKO := build.GuestModule(ctx, ko, k.ToolPrefix())
	files := append(g.files, initramfs.File{Name: guest.Dir + "/" + filepath.Base(ko), Source: guestKO, Mode: 0o644})
	for i, m := range k.PortModules {
		// Numbered: the runner loads them in the order of their names.
		files = append(files, initramfs.File{Name: fmt.Sprintf("%s/%02d-%s", guest.PortModulesDir, i, filepath.Base(m)), Source: m, Mode: 0o644})
	}
	cfgJSON, _ := json.MarshalIndent(cfg, "", "  ")
	files = append(files, initramfs.File{Name: guest.ConfigPath, Data: cfgJSON})
	image := filepath.Join(runDir, "initramfs.cpio")
	// The same run again (make vmtest, a bench) links the image it wrote.
	if err := initramfs.WriteCached(image, g.base, files, filepath.Join(store.Dir, "initramfs", "runs"), keptImages); err != nil {
		return nil, err
	}
	r.phase("initramfs", time.Since(t))

	return &bootArgs{kernel: k, image: image, accel: g.accel, timeout: g.vmTimeout, qemu: g.qemu}, nil
}

// keptImages is how many initramfs images of recent runs the store keeps
// (about 10 MB each) for runs that ask for the same one again.
const keptImages = 8

// prepareKernel gets the kernel and builds the module against it. A ko of
// "" with a nil error means the module did not build: res says so.
func (r *run) prepareKernel(ctx context.Context, store *kernel.Store) (k *kernel.Kernel, ko string, err error) {
	o, res := &r.o, r.res
	t := time.Now()
	k, err = store.Get(ctx, r.spec, r.progress)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "kernel ") {
			err = fmt.Errorf("kernel %s: %w", o.Kernel, err)
		}
		return nil, "", err
	}
	res.Kernel = k
	// Keep kernels prune from removing this one while it runs.
	release, err := store.Use(ctx, k)
	if err != nil {
		return nil, "", err
	}
	r.release = release
	r.phase("kernel", time.Since(t))
	fmt.Fprintf(r.progress, "cnvmtest: kernel %s = %s, image %s\n", o.Kernel, k.Summary(), k.Image)

	t = time.Now()
	src := o.KmodDir
	if src == "" {
		if src, err = embeddedModule(store.Dir); err != nil {
			return k, "", err
		}
	}
	mod := build.Module{
		Src:     src,
		KDir:    k.BuildDir,
		Kernel:  k.Summary(),
		Key:     k.Key + " " + k.ModuleCC + " " + strings.Join(k.ModuleMakeArgs, " "),
		Cache:   filepath.Join(store.Dir, "modules"),
		Command: k.ModuleMake,
	}
	ko, err = mod.Build(ctx, r.progress)
	var merr *build.ModuleError
	if errors.As(err, &merr) {
		res.Outcome, res.Reason = report.ModuleBuildFail, merr.Error()
		fmt.Fprintf(o.Stderr, "cnvmtest: MODULE_BUILD_FAIL: %v\n", merr)
		return k, "", nil
	}
	if err != nil {
		return k, "", err
	}
	r.phase("module", time.Since(t))
	return k, ko, nil
}

// guestPrep is what prepareGuest found out: the guest's files but the
// module, its configuration but the module path, the base image ("" for
// none) and the machine.
type guestPrep struct {
	err         error
	elapsed     time.Duration
	files       []initramfs.File
	cfg         guest.Config
	base        string
	qemu        *vm.QEMU
	accel       vm.Accel
	accelWhy    string
	cpus        int
	vmTimeout   time.Duration
	testsImport string
}

// prepareGuest builds the runner and the test binary, or finds them built,
// finds QEMU and the accelerator, and, for u-root's init, the base image.
// It runs beside prepareKernel and writes nothing but its result.
func (r *run) prepareGuest(ctx context.Context, runDir string, store *kernel.Store) (g guestPrep) {
	o := &r.o
	t := time.Now()
	defer func() { g.elapsed = time.Since(t) }()
	bin := filepath.Join(runDir, "bin")
	if g.err = os.MkdirAll(bin, 0o755); g.err != nil {
		return g
	}
	arch := r.spec.Architecture()
	binCache := filepath.Join(store.Dir, "bin", build.CacheKey(o.Repo, o.TestsDir, o.TestsPkg))
	if arch != kernel.HostArch {
		binCache = filepath.Join(store.Dir, "bin", build.CacheKey(o.Repo, o.TestsDir, o.TestsPkg, arch))
	}
	var srcDirs []string
	if o.Repo != "" {
		srcDirs = append(srcDirs, o.Repo)
	}
	if o.TestsDir != "" && o.TestsDir != o.Repo {
		srcDirs = append(srcDirs, o.TestsDir)
	}
	skip := []string{o.OutDir, store.Dir}
	if o.Repo != "" {
		skip = append(skip, filepath.Join(o.Repo, "out"))
	}
	inputs := build.Inputs(arch, srcDirs, skip)
	g.cfg = guest.Config{Params: o.ModuleParams, Env: o.Env, Unload: true}
	g.qemu = r.qemu
	if g.accel, g.accelWhy, g.err = chooseAccel(ctx, o.Accel, r.qemu, arch); g.err != nil {
		return g
	}
	g.cpus = o.CPUs
	if g.cpus == 0 {
		// Under TCG a second vCPU makes the kernel find the TSCs out of
		// sync and fall back to a slower clocksource (make bench).
		g.cpus = 1
		if g.accel == vm.KVM {
			g.cpus = 2
		}
	}
	var binTimeout, stall time.Duration
	g.vmTimeout, binTimeout, stall = o.timeouts(g.accel)
	g.cfg.Deadline = runnerDeadline(g.vmTimeout)

	if r.init == InitURoot {
		g.base, g.err = initramfs.Base(ctx, filepath.Join(store.Dir, "initramfs"), o.Repo, arch, r.progress)
		if g.err != nil {
			return g
		}
	}
	for _, f := range o.Files {
		g.files = append(g.files, initramfs.File{Name: guest.Dir + "/" + filepath.Base(f), Source: f})
	}
	switch {
	case r.shell:
		g.cfg.Program, g.cfg.Shell = "/bin/sh", true // u-root links gosh there
	case len(o.Exec) > 0:
		prog := filepath.Join(guest.Dir, filepath.Base(o.Exec[0]))
		g.files = append(g.files, initramfs.File{Name: prog, Source: o.Exec[0]})
		g.cfg.Program, g.cfg.Args = "/"+prog, o.Exec[1:]
		if o.WorkDir != "" {
			var wd []initramfs.File
			if wd, g.err = workDirFiles(o.WorkDir); g.err != nil {
				return g
			}
			g.files = append(g.files, wd...)
			g.cfg.Dir = o.WorkDir
		}
		// go test -exec -cover: the counters go back to go test's
		// directory on the host, at the same path.
		if dir, profile := coverFiles(o.Exec[1:]); dir != "" {
			g.cfg.Dirs, g.cfg.CoverDir = []string{dir}, dir
			if profile != "" {
				g.cfg.Dirs = append(g.cfg.Dirs, filepath.Dir(profile))
				g.cfg.Collect = []string{profile}
			}
		}
	default:
		g.testsImport, g.err = build.Memo(binCache, "importpath", inputs, func() (string, error) {
			return build.ImportPath(ctx, o.TestsDir, o.TestsPkg)
		})
		if g.err != nil {
			return g
		}
		testBin := filepath.Join(bin, "tests.test")
		name, flags := "tests.test", []string(nil)
		if o.Cover {
			flags = []string{"-cover"}
			if o.CoverPkg != "" {
				flags = append(flags, "-coverpkg="+o.CoverPkg)
			}
			name = "tests-cover-" + build.CacheKey(flags...) + ".test"
			g.cfg.Dirs, g.cfg.CoverDir = []string{guestCoverDir}, guestCoverDir
		}
		g.err = build.Stable(ctx, binCache, name, testBin, inputs, func(p string) error {
			return build.TestBinary(ctx, arch, o.TestsDir, o.TestsPkg, p, flags...)
		})
		if g.err != nil {
			return g
		}
		g.files = append(g.files, initramfs.File{Name: guest.Dir + "/tests.test", Source: testBin})
		g.cfg.Program, g.cfg.Args = "/"+guest.Dir+"/tests.test", o.testArgs(binTimeout)
		g.cfg.Stall = stall
		if r.init == InitRunner {
			// Only a speed-up: a binary it cannot read boots behind
			// the separate runner.
			self, _ := build.Memo(binCache, name+".init", inputs, func() (string, error) {
				ok, err := testsAreRunner(testBin, o.TestsDir, o.Repo)
				return fmt.Sprint(ok), err
			})
			if self == "true" {
				// One program where there were two (runner.AsInit).
				g.files = append(g.files, initramfs.File{Name: "init", Link: guest.Dir + "/tests.test"})
				return g
			}
		}
	}
	runner, err := r.runnerFiles(ctx, binCache, bin, inputs)
	if g.err = err; g.err != nil {
		return g
	}
	if r.init == InitURoot {
		runner[0].Name = "bin/uinit"
	}
	g.files = append(g.files, runner...)
	return g
}

type bootArgs struct {
	kernel  *kernel.Kernel
	image   string
	qemu    *vm.QEMU
	accel   vm.Accel
	timeout time.Duration
}

// run boots the guest and fills in the outcome.
func (r *run) run(ctx context.Context) error {
	o, res, b := &r.o, r.res, r.boot
	res.ConsoleLog = filepath.Join(res.RunDir, "console.log")
	con, err := newConsole(res.ConsoleLog)
	if err != nil {
		return err
	}
	recOut := o.Stdout
	if len(o.Exec) > 0 {
		// exec prints the program's own output; the outcome's reason
		// goes to standard error below, once.
		recOut = io.Discard
	}
	rec := report.NewRecorder(report.Options{Verbose: o.Verbose, JSON: o.JSON, Out: recOut, Package: r.testsImport})
	s := &stream{rec: rec}
	if o.Verbose {
		s.verbose = o.Stderr
	}
	if len(o.Exec) > 0 {
		s.raw = o.Stdout
	} else if err := s.startConverter(ctx, r.testsImport); err != nil {
		return err
	}

	start := time.Now()
	exit, err := vm.Run(ctx, vm.Config{
		QEMU:      b.qemu,
		Accel:     b.accel,
		Arch:      res.Arch,
		Kernel:    b.kernel.Image,
		Initramfs: b.image,
		Append:    append([]string{"quiet"}, o.KernelArgs...),
		MemoryMB:  res.MemoryMB,
		CPUs:      res.CPUs,
		Timeout:   b.timeout,
		Console:   con,
		Results:   s.line,
	})
	s.close()
	found, slices := con.finish()
	found, r.explained = splitKnown(rec, found)
	reports := make([]klog.Report, len(found))
	for i, r := range found {
		reports[i] = r.Report
	}
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(res.RunDir, "qemu.cmdline"), []byte(quoteArgs(exit.Cmdline)+"\n"), 0o644)
	if err := writeRepro(res.RunDir, b.kernel, exit.Cmdline); err != nil {
		fmt.Fprintf(r.progress, "cnvmtest: writing the reproducer: %v\n", err)
	}
	if started := s.at(guest.EvStart); !started.IsZero() {
		res.Phases = append(res.Phases, Phase{"boot", started.Sub(start)})
		if done := s.at(guest.EvExit); !done.IsZero() {
			res.Phases = append(res.Phases, Phase{"tests", done.Sub(started)})
		}
	}
	res.Phases = append(res.Phases, Phase{"qemu", exit.Elapsed})
	if o.Verbose {
		for _, p := range res.Phases[len(res.Phases)-3:] {
			fmt.Fprintf(o.Stderr, "cnvmtest: phase %-11s %7.2fs\n", p.Name, p.Elapsed.Seconds())
		}
	}

	outcome, reason := r.judge(s, exit, reports)
	attribute(rec, s, found, slices, r.explained)
	r.kernelCoverage(ctx, s, rec)
	switch outcome {
	case report.BootFail, report.ModuleLoadFail, report.Infra:
		// No test shows what went wrong: the end of the console does.
		rec.Attach(report.Attachment{KernelLog: con.tail(80)})
	}
	if ex, ok := s.find(guest.EvExit); ok {
		res.ExecStatus = ex.Status
	}
	rec.Finish(outcome, reason)
	res.Summary, res.Tests = rec.Summary(), rec.Results()
	res.Outcome, res.Reason = res.Summary.Outcome, res.Summary.Reason
	if len(o.Exec) > 0 {
		// exec runs no tests; the program's status is the result.
		res.Outcome, res.Reason = outcome, reason
	}

	if o.JUnit != "" {
		if err := r.writeJUnit(rec); err != nil {
			return err
		}
	}
	if res.Outcome != report.Pass {
		fmt.Fprintf(o.Stderr, "cnvmtest: %s: %s\n", res.Outcome, res.Reason)
		fmt.Fprintf(o.Stderr, "cnvmtest: to boot this guest again: sh %s (add gdb to attach a debugger)\n", filepath.Join(res.RunDir, "repro.sh"))
	}
	if err := r.coverage(s); err != nil {
		fmt.Fprintf(o.Stderr, "cnvmtest: coverage: %v\n", err)
	}
	fmt.Fprintf(r.progress, "cnvmtest: %s guest, kernel %s, on %s\n", res.Arch, res.Kernel.Release, res.Emulator)
	if !o.JSON {
		printKernelCoverage(o.Stdout, res.KernelCoverage)
	}
	fmt.Fprintf(r.progress, "cnvmtest: kernel console log: %s\n", res.ConsoleLog)
	return nil
}

// qemuExit says how QEMU ended, for a reason.
func qemuExit(exit *vm.Exit) string {
	if exit.Err == nil {
		return "status 0"
	}
	return exit.Err.Error()
}

// attribute gives each test its slice of the kernel console, and fails the
// test during which the kernel printed a report or gained a taint bit.
// Reports printed outside any test go to the run.
func attribute(rec *report.Recorder, s *stream, found []attributed, slices map[string]string, explained map[string]klog.Taint) {
	for test, log := range slices {
		rec.Attach(report.Attachment{Test: test, KernelLog: log})
	}
	splat := map[string]bool{}
	for _, r := range found {
		kind := report.KernelSplat
		if r.Kind == klog.Panic {
			kind = report.KernelPanic
		}
		rec.Attach(report.Attachment{Test: r.Test, KernelLog: strings.Join(r.Lines, "\n"), Outcome: kind, Reason: fmt.Sprintf("%s [%s]", r.Title, r.Fingerprint)})
		splat[r.Test] = true
	}
	for _, h := range s.all(guest.EvHang) {
		rec.Attach(report.Attachment{Test: h.Test, Outcome: report.Timeout, Reason: h.Error})
	}
	for _, r := range s.all(guest.EvTest) {
		bad := klog.Taint(r.Taint).Unexpected(klog.Taint(r.TaintBefore) | klog.ModuleTaints | explained[r.Test])
		if bad != 0 && !splat[r.Test] {
			rec.Attach(report.Attachment{Test: r.Test, Outcome: report.KernelSplat, Reason: "kernel tainted during the test: " + bad.Flags()})
		}
	}
}

// judge decides the run's outcome from what the runner said, how QEMU
// ended and what the kernel printed. The most severe finding wins.
func (r *run) judge(s *stream, exit *vm.Exit, reports []klog.Report) (report.Outcome, string) {
	if _, booted := s.find(guest.EvBoot); !booted {
		// A kernel that panics before it runs the runner (no root file
		// system: the initramfs did not unpack) did not boot. The
		// runner dying as init is told apart below.
		for _, rep := range reports {
			if rep.Kind == klog.Panic && !strings.Contains(rep.Title, "Attempted to kill init") {
				return report.BootFail, "the kernel panicked before the guest runner started: " + rep.Title
			}
		}
	}
	for _, rep := range reports {
		if rep.Kind == klog.Panic {
			if r.init == InitRunner && strings.Contains(rep.Title, "Attempted to kill init") {
				// With no init of its own the guest's init is the runner.
				return report.KernelPanic, rep.Title + " (the guest's init is the cnvmtest runner: it died, see the console log)"
			}
			return report.KernelPanic, rep.Title
		}
	}
	if h, ok := s.find(guest.EvHang); ok {
		return report.Timeout, "guest runner: " + h.Error
	}
	if s.binTimeout != "" {
		return report.Timeout, "the test binary's own timeout fired (" + s.binTimeout + "): a test hung in user space"
	}
	if errors.Is(exit.Err, context.Canceled) {
		return report.Infra, "interrupted: QEMU was stopped before the guest finished"
	}
	if exit.TimedOut {
		return report.Timeout, fmt.Sprintf("the guest did not finish within %s; QEMU was killed", exit.Elapsed.Round(time.Second))
	}
	boot, ok := s.find(guest.EvBoot)
	if !ok {
		return report.BootFail, fmt.Sprintf("the guest never reached the runner (QEMU exit status %d); see the console log", exit.ExitCode())
	}
	if m, ok := s.find(guest.EvModule); ok && m.Error != "" {
		return report.ModuleLoadFail, m.Error
	}
	if e, ok := s.find(guest.EvError); ok {
		return report.Infra, "guest runner: " + e.Error
	}
	done, ok := s.find(guest.EvDone)
	if len(reports) > 0 {
		return report.KernelSplat, fmt.Sprintf("%d kernel report(s), first: %s", len(reports), reports[0].Title)
	}
	if !ok {
		return report.Infra, fmt.Sprintf("QEMU exited (%s) before the guest runner finished; see the console log", qemuExit(exit))
	}
	if bad := klog.Taint(done.Taint).Unexpected(klog.Taint(boot.Taint) | klog.ModuleTaints | r.explained[""]); bad != 0 {
		return report.KernelSplat, "kernel tainted during the run: " + bad.Flags()
	}
	if u, ok := s.find(guest.EvUnload); ok && u.Error != "" {
		return report.Fail, u.Error
	}
	ex, _ := s.find(guest.EvExit)
	if len(r.o.Exec) > 0 {
		return report.Pass, ""
	}
	sum := s.rec.Summary()
	switch {
	case sum.Failed > 0:
		return report.Fail, fmt.Sprintf("%d test(s) failed", sum.Failed)
	case ex.Status != 0:
		return report.Fail, fmt.Sprintf("test binary exited with status %d", ex.Status)
	case sum.Passed == 0:
		return report.Skip, "no test passed: a run that tests nothing is a failure"
	}
	return report.Pass, ""
}

func (r *run) writeJUnit(rec *report.Recorder) error {
	o, res := &r.o, r.res
	if err := os.MkdirAll(filepath.Dir(o.JUnit), 0o755); err != nil {
		return fmt.Errorf("JUnit report: %w", err)
	}
	f, err := os.Create(o.JUnit)
	if err != nil {
		return fmt.Errorf("JUnit report: %w", err)
	}
	defer f.Close()
	props := map[string]string{
		"kernel.spec":    o.Kernel,
		"kernel.release": res.Kernel.Release,
		"kernel.package": res.Kernel.PackageVersion,
		"kernel.source":  res.Kernel.Source,
		"kernel.key":     res.Kernel.Key,
		"kernel.flavour": res.Kernel.Flavour,
		"kernel.config":  res.Kernel.ConfigHash,
		"kernel.cc":      res.Kernel.Compiler,
		"module.cc":      res.Kernel.ModuleCC,
		"accel":          string(res.Accel),
		"arch":           res.Arch,
		"emulator":       res.Emulator,
		"outcome":        string(res.Outcome),
		"console.log":    res.ConsoleLog,
	}
	for _, b := range res.Summary.KnownBugs {
		props["known-bug."+b.ID] = b.Test + ": " + b.Text
	}
	maps.Copy(props, kernelCoverageProps(res.KernelCoverage))
	return report.WriteJUnit(f, "cnvmtest "+res.Kernel.Release, props, rec.Results(), res.Summary)
}

// Shell boots the kernel with the module loaded and gives the guest's
// console, with u-root's shell, to this process's terminal.
func Shell(ctx context.Context, o Options) error {
	r, err := start(ctx, o, true)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		return err
	}
	if r.boot == nil {
		return fmt.Errorf("%s: %s", r.res.Outcome, r.res.Reason)
	}
	b := r.boot
	fmt.Fprintf(r.progress, "cnvmtest: booting %s for a shell; type exit (or poweroff) to leave\n", b.kernel.Release)
	_, err = vm.Interactive(ctx, vm.Config{
		QEMU: b.qemu, Accel: b.accel, Arch: r.res.Arch, Kernel: b.kernel.Image, Initramfs: b.image,
		Append: append([]string{"quiet"}, r.o.KernelArgs...), MemoryMB: r.res.MemoryMB, CPUs: r.res.CPUs,
	}, filepath.Join(r.res.RunDir, "results.out"))
	return err
}

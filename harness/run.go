package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Run performs one run. An error means the harness could not do its job
// (INFRA); what the kernel and the tests did is in the Result.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	res := &Result{}
	b, err := o.prepare(ctx, res, false)
	if o.release != nil {
		defer o.release()
	}
	if err != nil {
		return res, err
	}
	if b == nil {
		// Decided before the boot (the module did not build): report
		// it like any other outcome.
		rec := report.NewRecorder(report.Options{Out: o.Stdout, JSON: o.JSON, Package: o.TestsPkg})
		rec.Finish(res.Outcome, res.Reason)
		res.Summary = rec.Summary()
		if o.JUnit != "" {
			return res, o.writeJUnit(res, rec)
		}
		return res, nil
	}
	return res, o.boot(ctx, res, *b)
}

// prepare does everything before the boot: kernel, module, guest binaries
// and initramfs. A nil bootArgs with a nil error means the run already has
// its outcome (the module did not build). A shell gets no test binary.
//
// The guest binaries need no kernel, so they are built (or found) while
// the kernel is got and the module built: on a warm run the two take about
// as long, and they overlap.
func (o *Options) prepare(ctx context.Context, res *Result, shell bool) (*bootArgs, error) {
	runDir, err := newRunDir(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	res.RunDir = runDir
	phase := func(name string, d time.Duration) {
		res.Phases = append(res.Phases, Phase{name, d})
		if o.Verbose {
			fmt.Fprintf(o.Stderr, "cnvmtest: phase %-11s %7.2fs\n", name, d.Seconds())
		}
	}
	store := o.Store
	if store == nil {
		if store, err = kernel.DefaultStore(); err != nil {
			return nil, err
		}
	}
	spec, err := kernel.ParseSpec(o.Kernel)
	if err != nil {
		return nil, err
	}
	if shell {
		o.Init = InitURoot // the shell is u-root's
	}

	start := time.Now()
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	guestc := make(chan guestPrep, 1)
	go func() {
		g := o.prepareGuest(gctx, runDir, store, shell)
		if g.err != nil {
			cancel()
		}
		guestc <- g
	}()
	k, ko, kerr := o.prepareKernel(gctx, res, store, spec, phase)
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
	phase("binaries", g.elapsed)
	phase("prepare", time.Since(start))
	fmt.Fprintf(o.Stderr, "cnvmtest: accelerator %s: %s\n", g.accel, g.accelWhy)
	if o.MemoryMB == 0 {
		o.MemoryMB = guestMemory(k)
	}
	res.Accel, res.Module, res.CPUs, res.MemoryMB = g.accel, ko, o.CPUs, o.MemoryMB

	// Initramfs.
	t := time.Now()
	cfg := g.cfg
	cfg.Module = "/" + guest.Dir + "/" + filepath.Base(ko)
	files := append(g.files, initramfs.File{Name: guest.Dir + "/" + filepath.Base(ko), Source: ko, Mode: 0o644})
	cfgJSON, _ := json.MarshalIndent(cfg, "", "  ")
	files = append(files, initramfs.File{Name: guest.ConfigPath, Data: cfgJSON})
	image := filepath.Join(runDir, "initramfs.cpio")
	if err := initramfs.Write(image, g.base, files); err != nil {
		return nil, err
	}
	phase("initramfs", time.Since(t))

	return &bootArgs{kernel: k, image: image, accel: g.accel, timeout: g.vmTimeout, qemu: g.qemu}, nil
}

// prepareKernel gets the kernel and builds the module against it. A ko of
// "" with a nil error means the module did not build: res says so.
func (o *Options) prepareKernel(ctx context.Context, res *Result, store *kernel.Store, spec kernel.Spec,
	phase func(string, time.Duration)) (k *kernel.Kernel, ko string, err error) {
	t := time.Now()
	k, err = store.Get(ctx, spec, o.Stderr)
	if err != nil {
		return nil, "", fmt.Errorf("kernel %s: %w", o.Kernel, err)
	}
	res.Kernel = k
	// Keep kernels prune from removing this one while it runs.
	release, err := store.Use(ctx, k)
	if err != nil {
		return nil, "", err
	}
	o.release = release
	phase("kernel", time.Since(t))
	fmt.Fprintf(o.Stderr, "cnvmtest: kernel %s = %s, image %s\n", o.Kernel, k.Summary(), k.Image)

	t = time.Now()
	mod := build.Module{
		Src:     o.KmodDir,
		KDir:    k.BuildDir,
		Kernel:  k.Summary(),
		Key:     k.Key + " " + k.ModuleCC + " " + strings.Join(k.ModuleMakeArgs, " "),
		Cache:   filepath.Join(store.Dir, "modules"),
		Command: k.ModuleMake,
	}
	ko, err = mod.Build(ctx, o.Stderr)
	var merr *build.ModuleError
	if errors.As(err, &merr) {
		res.Outcome, res.Reason = report.ModuleBuildFail, merr.Error()
		fmt.Fprintf(o.Stderr, "cnvmtest: MODULE_BUILD_FAIL: %v\n", merr)
		return k, "", nil
	}
	if err != nil {
		return k, "", err
	}
	phase("module", time.Since(t))
	return k, ko, nil
}

// guestPrep is what prepareGuest found out: the guest's files but the
// module, its configuration but the module path, the base image ("" for
// none) and the machine.
type guestPrep struct {
	err       error
	elapsed   time.Duration
	files     []initramfs.File
	cfg       guest.Config
	base      string
	qemu      string
	accel     vm.Accel
	accelWhy  string
	vmTimeout time.Duration
}

// prepareGuest builds the runner and the test binary, or finds them built,
// finds QEMU and the accelerator, and, for u-root's init, the base image.
func (o *Options) prepareGuest(ctx context.Context, runDir string, store *kernel.Store, shell bool) (g guestPrep) {
	t := time.Now()
	defer func() { g.elapsed = time.Since(t) }()
	bin := filepath.Join(runDir, "bin")
	if g.err = os.MkdirAll(bin, 0o755); g.err != nil {
		return g
	}
	binCache := filepath.Join(store.Dir, "bin", build.CacheKey(o.Repo, o.TestsDir, o.TestsPkg))
	srcDirs := []string{o.Repo}
	if o.TestsDir != o.Repo {
		srcDirs = append(srcDirs, o.TestsDir)
	}
	inputs := build.Inputs(srcDirs, []string{o.OutDir, filepath.Join(o.Repo, "out"), store.Dir})
	runner := filepath.Join(bin, "runner")
	g.err = build.Stable(binCache, "runner", runner, inputs, func(p string) error {
		return build.Program(ctx, o.Repo, "./initramfs/runner", p)
	})
	if g.err != nil {
		return g
	}
	g.cfg = guest.Config{Params: o.ModuleParams, Env: o.Env, Unload: true}
	if g.qemu, g.err = vm.QEMUPath(""); g.err != nil {
		return g
	}
	if g.accel, g.accelWhy, g.err = chooseAccel(ctx, o.Accel, g.qemu); g.err != nil {
		return g
	}
	if o.CPUs == 0 {
		// Under TCG a second vCPU makes the kernel find the TSCs out of
		// sync and fall back to a slower clocksource (make bench).
		o.CPUs = 1
		if g.accel == vm.KVM {
			o.CPUs = 2
		}
	}
	var binTimeout, stall time.Duration
	g.vmTimeout, binTimeout, stall = o.timeouts(g.accel)
	g.cfg.Deadline = runnerDeadline(g.vmTimeout)

	if o.Init == InitURoot {
		g.base, g.err = initramfs.Base(filepath.Join(store.Dir, "initramfs"), o.Repo, o.Stderr)
		if g.err != nil {
			return g
		}
		g.files = append(g.files, initramfs.File{Name: "bin/uinit", Source: runner})
	} else {
		g.files = append(g.files, initramfs.File{Name: "init", Source: runner})
	}
	for _, f := range o.Files {
		if _, err := os.Stat(f); err != nil {
			g.err = fmt.Errorf("file for the guest: %w", err)
			return g
		}
		g.files = append(g.files, initramfs.File{Name: guest.Dir + "/" + filepath.Base(f), Source: f})
	}
	switch {
	case shell:
		g.cfg.Program, g.cfg.Shell = "/bin/sh", true // u-root links gosh there
	case len(o.Exec) > 0:
		prog := filepath.Join(guest.Dir, filepath.Base(o.Exec[0]))
		g.files = append(g.files, initramfs.File{Name: prog, Source: o.Exec[0]})
		g.cfg.Program, g.cfg.Args = "/"+prog, o.Exec[1:]
	default:
		o.testsImport, g.err = build.Memo(binCache, "importpath", inputs, func() (string, error) {
			return build.ImportPath(ctx, o.TestsDir, o.TestsPkg)
		})
		if g.err != nil {
			return g
		}
		testBin := filepath.Join(bin, "tests.test")
		g.err = build.Stable(binCache, "tests.test", testBin, inputs, func(p string) error {
			return build.TestBinary(ctx, o.TestsDir, o.TestsPkg, p)
		})
		if g.err != nil {
			return g
		}
		g.files = append(g.files, initramfs.File{Name: guest.Dir + "/tests.test", Source: testBin})
		g.cfg.Program, g.cfg.Args = "/"+guest.Dir+"/tests.test", o.testArgs(binTimeout)
		g.cfg.Stall = stall
	}
	return g
}

type bootArgs struct {
	kernel  *kernel.Kernel
	image   string
	qemu    string
	accel   vm.Accel
	timeout time.Duration
}

// boot runs the guest and fills in the outcome.
func (o *Options) boot(ctx context.Context, res *Result, b bootArgs) error {
	res.ConsoleLog = filepath.Join(res.RunDir, "console.log")
	con, err := newConsole(res.ConsoleLog)
	if err != nil {
		return err
	}
	rec := report.NewRecorder(report.Options{Verbose: o.Verbose, JSON: o.JSON, Out: o.Stdout, Package: o.testsImport})
	s := &stream{rec: rec}
	if o.Verbose {
		s.verbose = o.Stderr
	}
	if len(o.Exec) > 0 {
		s.raw = o.Stdout
	} else if err := s.startConverter(ctx, o.testsImport); err != nil {
		return err
	}

	start := time.Now()
	exit, err := vm.Run(ctx, vm.Config{
		QEMU:      b.qemu,
		Accel:     b.accel,
		Kernel:    b.kernel.Image,
		Initramfs: b.image,
		Append:    []string{"quiet"},
		MemoryMB:  o.MemoryMB,
		CPUs:      o.CPUs,
		Timeout:   b.timeout,
		Console:   con,
		Results:   s.line,
	})
	s.close()
	found, slices := con.finish()
	reports := make([]klog.Report, len(found))
	for i, r := range found {
		reports[i] = r.Report
	}
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(res.RunDir, "qemu.cmdline"), []byte(quoteArgs(exit.Cmdline)+"\n"), 0o644)
	if err := writeRepro(res.RunDir, b.kernel, exit.Cmdline); err != nil {
		fmt.Fprintf(o.Stderr, "cnvmtest: writing the reproducer: %v\n", err)
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

	outcome, reason := o.judge(s, exit, reports)
	attribute(rec, s, found, slices)
	switch outcome {
	case report.BootFail, report.ModuleLoadFail, report.Infra:
		// No test shows what went wrong: the end of the console does.
		rec.Attach("", con.tail(80), "", "")
	}
	if ex, ok := s.find(guest.EvExit); ok {
		res.ExecStatus = ex.Status
	}
	rec.Finish(outcome, reason)
	res.Summary = rec.Summary()
	res.Outcome, res.Reason = res.Summary.Outcome, res.Summary.Reason
	if len(o.Exec) > 0 {
		// exec runs no tests; the program's status is the result.
		res.Outcome, res.Reason = outcome, reason
	}

	if o.JUnit != "" {
		if err := o.writeJUnit(res, rec); err != nil {
			return err
		}
	}
	if res.Outcome != report.Pass {
		fmt.Fprintf(o.Stderr, "cnvmtest: %s: %s\n", res.Outcome, res.Reason)
		fmt.Fprintf(o.Stderr, "cnvmtest: to boot this guest again: sh %s (add gdb to attach a debugger)\n", filepath.Join(res.RunDir, "repro.sh"))
	}
	fmt.Fprintf(o.Stderr, "cnvmtest: kernel console log: %s\n", res.ConsoleLog)
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
func attribute(rec *report.Recorder, s *stream, found []attributed, slices map[string]string) {
	for test, log := range slices {
		rec.Attach(test, log, "", "")
	}
	splat := map[string]bool{}
	for _, r := range found {
		kind := report.KernelSplat
		if r.Kind == klog.Panic {
			kind = report.KernelPanic
		}
		rec.Attach(r.Test, strings.Join(r.Lines, "\n"), kind, fmt.Sprintf("%s [%s]", r.Title, r.Fingerprint))
		splat[r.Test] = true
	}
	for _, h := range s.all(guest.EvHang) {
		rec.Attach(h.Test, "", report.Timeout, h.Error)
	}
	for _, r := range s.all(guest.EvTest) {
		bad := klog.Taint(r.Taint).Unexpected(klog.Taint(r.TaintBefore) | klog.ModuleTaints)
		if bad != 0 && !splat[r.Test] {
			rec.Attach(r.Test, "", report.KernelSplat, "kernel tainted during the test: "+bad.Flags())
		}
	}
}

// judge decides the run's outcome from what the runner said, how QEMU
// ended and what the kernel printed. The most severe finding wins.
func (o *Options) judge(s *stream, exit *vm.Exit, reports []klog.Report) (report.Outcome, string) {
	for _, r := range reports {
		if r.Kind == klog.Panic {
			if o.Init == InitRunner && strings.Contains(r.Title, "Attempted to kill init") {
				// With no init of its own the guest's init is the runner.
				return report.KernelPanic, r.Title + " (the guest's init is the cnvmtest runner: it died, see the console log)"
			}
			return report.KernelPanic, r.Title
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
	if bad := klog.Taint(done.Taint).Unexpected(klog.Taint(boot.Taint) | klog.ModuleTaints); bad != 0 {
		return report.KernelSplat, "kernel tainted during the run: " + bad.Flags()
	}
	if u, ok := s.find(guest.EvUnload); ok && u.Error != "" {
		return report.Fail, u.Error
	}
	ex, _ := s.find(guest.EvExit)
	if len(o.Exec) > 0 {
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

func (o *Options) writeJUnit(res *Result, rec *report.Recorder) error {
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
		"outcome":        string(res.Outcome),
		"console.log":    res.ConsoleLog,
	}
	return report.WriteJUnit(f, "cnvmtest "+res.Kernel.Release, props, rec.Results(), res.Summary)
}

// Shell boots the kernel with the module loaded and gives the guest's
// console, with u-root's shell, to this process's terminal.
func Shell(ctx context.Context, o Options) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	res := &Result{}
	b, err := o.prepare(ctx, res, true)
	if o.release != nil {
		defer o.release()
	}
	if err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("%s: %s", res.Outcome, res.Reason)
	}
	fmt.Fprintf(o.Stderr, "cnvmtest: booting %s for a shell; type exit (or poweroff) to leave\n", b.kernel.Release)
	_, err = vm.Interactive(ctx, vm.Config{
		QEMU: b.qemu, Accel: b.accel, Kernel: b.kernel.Image, Initramfs: b.image,
		Append: []string{"quiet"}, MemoryMB: o.MemoryMB, CPUs: o.CPUs,
	}, filepath.Join(res.RunDir, "results.out"))
	return err
}

// SPDX-License-Identifier: MIT

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
)

// Sections a session can run, in the order it runs them.
const (
	SectionSuite    = "suite"    // the whole guest suite as make vmtest runs it, against the floors
	SectionRun      = "run"      // warm one-test runs against the floors: the harness's overhead
	SectionMakeTest = "maketest" // make test, once
	SectionGuest    = "guest"    // echo benchmarks in the guest
	SectionHost     = "host"     // encoder benchmarks on the host
	SectionMatrix   = "matrix"   // kernels in parallel and one after another
	SectionCold     = "cold"     // a run from empty caches
	SectionArch     = "arch"     // the whole suite per guest architecture, against bare boots
	SectionMemory   = "memory"   // peak resident sets
)

// AllSections lists the sections, the headline first; the cold start, the
// architectures and make test only run when asked.
var AllSections = []string{SectionSuite, SectionRun, SectionGuest, SectionHost, SectionMatrix, SectionCold, SectionArch, SectionMakeTest}

// OptIn reports whether section runs only when asked for: each takes
// minutes, which make bench should not grow by.
func OptIn(section string) bool {
	return section == SectionCold || section == SectionArch || section == SectionMakeTest
}

// Defaults.
const (
	DefaultN       = 5
	DefaultKernel  = "debian:6.1"
	DefaultRun     = "^TestEchoHappyPath$"
	DefaultMatrixN = 4
)

// DefaultMatrix lists the matrix candidates in order of preference; the
// first DefaultMatrixN whose module builds and whose run passes are
// measured. The first four are the matrix of the speed goal (README,
// Benchmarks): the oldest and newest Debian series and the two between.
// 7.2 builds its modules with a newer gcc in a chroot the store makes
// once (minutes on a fresh machine); the last two stand in for a kernel
// whose warm-up fails, which the report notes.
var DefaultMatrix = []string{
	"debian:5.10", "debian:6.1", "debian:6.12", "debian:7.2",
	"debian:6.12+deb13", "debian:6.12.95+deb12",
}

// Config configures a session. Zero values mean the defaults.
type Config struct {
	// Repo is the cnvmtest source tree.
	Repo string
	// Exe is the cnvmtest binary; the cold start runs it.
	Exe string
	// N is how many times each quantity is measured.
	N int
	// Kernels are measured by the run section (warm run, floor).
	Kernels []string
	// Run selects the tests of the warm runs and the matrix (go test -run).
	Run string
	// Matrix lists candidate kernels; the first MatrixSize that pass a
	// warm-up run are measured.
	Matrix     []string
	MatrixSize int
	// ArchKernels are the kernels of the arch section, one per guest
	// architecture; the first amd64 one is the baseline.
	ArchKernels []string
	// Sections to run; nil means all but the opt-in ones (OptIn).
	Sections []string
	// GuestBenchTime is -benchtime for the guest benchmarks (default 1s);
	// HostBenchTime for the host ones (default go test's).
	GuestBenchTime, HostBenchTime string
	// CPUs and MemoryMB size the guests, as the CLI's -cpus and -mem
	// (default: the run's own defaults). Accel is auto, kvm or tcg.
	CPUs, MemoryMB int
	Accel          string
	// WorkDir holds the run directories and the log. Run directories of
	// passing runs are removed at the end unless Keep is set.
	WorkDir string
	Keep    bool
	// Log receives the session's progress; RunLog the harness's own
	// progress lines (-v) of every run.
	Log, RunLog io.Writer
	// Command is recorded in the report.
	Command string
}

func (c *Config) setDefaults() error {
	if c.Repo == "" {
		return fmt.Errorf("bench: no repository root given")
	}
	if c.N <= 0 {
		c.N = DefaultN
	}
	if len(c.Kernels) == 0 {
		c.Kernels = []string{DefaultKernel}
	}
	if c.Run == "" {
		c.Run = DefaultRun
	}
	if len(c.Matrix) == 0 {
		c.Matrix = DefaultMatrix
	}
	if c.MatrixSize <= 0 {
		c.MatrixSize = DefaultMatrixN
	}
	if len(c.ArchKernels) == 0 {
		c.ArchKernels = DefaultArchKernels
	}
	if c.Sections == nil {
		c.Sections = slices.DeleteFunc(slices.Clone(AllSections), OptIn)
	}
	if c.GuestBenchTime == "" {
		c.GuestBenchTime = "1s"
	}
	if c.Accel == "" {
		c.Accel = "auto"
	}
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(c.Repo, "out", "bench")
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.RunLog == nil {
		c.RunLog = io.Discard
	}
	return nil
}

func (c *Config) has(section string) bool { return slices.Contains(c.Sections, section) }

// session is one benchmark session in progress.
type session struct {
	cfg    Config
	rep    *Report
	runs   string // the run directories
	failed bool   // a run failed: keep the run directories
	log    io.Writer

	qemuHWM    uint64 // KiB, over every run
	accel      vm.Accel
	floorProgs map[string][]byte // the floor init per GOARCH, built once
}

// Run measures what cfg asks for and returns the report. Errors in one
// section are noted in the report and the other sections still run; an
// error return means no session could be held at all.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	runs, err := os.MkdirTemp(cfg.WorkDir, "runs-")
	if err != nil {
		return nil, err
	}
	s := &session{
		cfg:  cfg,
		runs: runs,
		log:  cfg.Log,
		rep:  &Report{Schema: Schema, Started: time.Now(), Command: cfg.Command, N: cfg.N, Host: hostInfo(ctx)},
	}
	s.load("start")
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{SectionSuite, s.suite},
		{SectionRun, s.runAndFloor},
		{SectionGuest, s.guestBench},
		{SectionHost, s.hostBench},
		{SectionMatrix, s.matrix},
		{SectionCold, s.cold},
		{SectionArch, s.archSuite},
		{SectionMakeTest, s.makeTest},
	}
	for _, st := range steps {
		if !cfg.has(st.name) || ctx.Err() != nil {
			continue
		}
		s.logf("== %s", st.name)
		if err := st.fn(ctx); err != nil {
			s.rep.note(st.name, "section failed: %v", err)
			s.logf("%s: %v", st.name, err)
		}
		s.load("after " + st.name)
	}
	s.memory()
	s.rep.Host.Accel = string(s.accel)
	s.rep.Targets = targets(s.rep, cfg)
	s.rep.Seconds = time.Since(s.rep.Started).Seconds()
	if ctx.Err() != nil {
		s.rep.Notes = append(s.rep.Notes, "interrupted: "+ctx.Err().Error())
	}
	if s.failed || cfg.Keep {
		s.rep.Notes = append(s.rep.Notes, "run directories kept in "+runs)
	} else {
		os.RemoveAll(runs)
	}
	return s.rep, nil
}

func (s *session) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "bench: "+format+"\n", args...)
}

// options are those of `cnvmtest run` with the session's guest size, with
// -v and -json so that the run's output can be timed.
func (s *session) options(kernel string) harness.Options {
	return harness.Options{
		Repo:     s.cfg.Repo,
		Kernel:   kernel,
		Run:      s.cfg.Run,
		CPUs:     s.cfg.CPUs,
		MemoryMB: s.cfg.MemoryMB,
		Accel:    harness.AccelMode(s.cfg.Accel),
		OutDir:   s.runs,
		Verbose:  true,
		JSON:     true,
	}
}

// runSample is one timed harness.Run.
type runSample struct {
	res   *harness.Result
	err   error
	total time.Duration
	clock *runClock
	// qemuStart is when QEMU was started: the runner's "start" record
	// arrived Phases["boot"] after it.
	qemuStart time.Time
	hwmKiB    uint64
	// cmdline is the run's qemu.cmdline, read before its run directory
	// is removed.
	cmdline string
}

func (r runSample) ok() bool { return r.err == nil && r.res != nil && r.res.Outcome == report.Pass }

func (r runSample) why() string {
	switch {
	case r.err != nil:
		return "INFRA: " + r.err.Error()
	case r.res == nil:
		return "no result"
	}
	return fmt.Sprintf("%s: %s (run directory %s)", r.res.Outcome, firstLine(r.res.Reason), r.res.RunDir)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func (r runSample) phase(name string) float64 {
	if r.res != nil {
		for _, p := range r.res.Phases {
			if p.Name == name {
				return p.Elapsed.Seconds()
			}
		}
	}
	return nan
}

// since returns the seconds from QEMU's start to t, NaN when either is
// unknown.
func (r runSample) since(t time.Time) float64 {
	if t.IsZero() || r.qemuStart.IsZero() {
		return nan
	}
	return t.Sub(r.qemuStart).Seconds()
}

func (s *session) runOnce(ctx context.Context, o harness.Options) runSample {
	return s.runJudged(ctx, o, runSample.ok)
}

// runJudged is runOnce with the caller's idea of a good run: its run
// directory is removed, a bad run's is kept.
func (s *session) runJudged(ctx context.Context, o harness.Options, good func(runSample) bool) runSample {
	clock := newRunClock(s.cfg.RunLog)
	o.Stdout, o.Stderr = clock.stdout(), clock.stderr()
	w := watchQEMU()
	start := time.Now()
	res, err := harness.Run(ctx, o)
	rs := runSample{res: res, err: err, total: time.Since(start), clock: clock}
	rs.hwmKiB, _ = w.Stop()
	s.qemuHWM = max(s.qemuHWM, rs.hwmKiB)
	if res != nil && res.Accel != "" {
		s.accel = res.Accel
	}
	if boot := rs.phase("boot"); !isNaN(boot) {
		if at := clock.guestAt("start"); !at.IsZero() {
			rs.qemuStart = at.Add(-time.Duration(boot * float64(time.Second)))
		}
	}
	ok := good(rs)
	if !ok {
		s.failed = true
		s.logf("%s: %s", o.Kernel, rs.why())
	}
	if res != nil && res.RunDir != "" {
		b, _ := os.ReadFile(filepath.Join(res.RunDir, "qemu.cmdline"))
		rs.cmdline = string(b)
		s.tidy(res, ok)
	}
	return rs
}

// tidyLatest removes the run directory that a child cnvmtest run just
// made under the session's run directories (OutDir/latest points at it).
func (s *session) tidyLatest() {
	if s.cfg.Keep {
		return
	}
	latest := filepath.Join(s.runs, "latest")
	if dir, err := os.Readlink(latest); err == nil {
		os.RemoveAll(filepath.Join(s.runs, filepath.Base(dir)))
		os.Remove(latest)
	}
}

// tidy removes the run directory of a passing run unless asked to keep
// them: each holds an initramfs of some 15 MB.
func (s *session) tidy(res *harness.Result, ok bool) {
	if ok && !s.cfg.Keep && res != nil && res.RunDir != "" {
		os.RemoveAll(res.RunDir)
	}
}

// load records the load average now.
func (s *session) load(at string) {
	l := Load{At: at}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i := 0; i < 3 && i < len(f); i++ {
			l.Average[i], _ = strconv.ParseFloat(f[i], 64)
		}
	}
	if out, err := exec.Command("uptime").Output(); err == nil {
		l.Uptime = strings.TrimSpace(string(out))
	}
	s.rep.Host.Load = append(s.rep.Host.Load, l)
	s.rep.Host.LoadMax1 = max(s.rep.Host.LoadMax1, l.Average[0])
	s.logf("load %s: %s", at, loadString(l))
}

func (s *session) kernel(res *harness.Result) {
	if res == nil || res.Kernel == nil {
		return
	}
	k := res.Kernel
	for _, have := range s.rep.Kernels {
		if have.Release == k.Release && have.Package == k.PackageVersion {
			return
		}
	}
	s.rep.Kernels = append(s.rep.Kernels, Kernel{Spec: k.Spec, Release: k.Release, Package: k.PackageVersion, Image: k.Image, PVH: k.PVH})
}

func hostInfo(ctx context.Context) Host {
	h := Host{CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.Atoi(strings.Fields(v)[0])
				h.MemTotalMiB = kb / 1024
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		h.Go = strings.TrimSpace(string(out))
	}
	if q, err := vm.QEMUPath(""); err == nil {
		if out, err := exec.CommandContext(ctx, q, "--version").Output(); err == nil {
			h.QEMU, _, _ = strings.Cut(string(out), "\n")
		}
	}
	return h
}

// goCmd runs the go command in the repository and returns its stdout.
func goCmd(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("go %s: %w\n%s%s", strings.Join(args, " "), err, errb.Bytes(), out.Bytes())
	}
	return out.Bytes(), nil
}

// guestSize describes the guests' size as cnvmtest run flags.
func (s *session) guestSize() string {
	cpus := "default -cpus"
	if s.cfg.CPUs > 0 {
		cpus = "-cpus " + itoa(s.cfg.CPUs)
	}
	mem := "default -mem"
	if s.cfg.MemoryMB > 0 {
		mem = "-mem " + itoa(s.cfg.MemoryMB)
	}
	return cpus + " " + mem
}

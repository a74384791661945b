// SPDX-License-Identifier: MIT

package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
)

const sectionFloor = "floor"

// phases are Result.Phases in the order a run goes through them.
// kernel and module overlap binaries; prepare is the wall time of the
// three.
var phases = []string{"kernel", "module", "binaries", "prepare", "initramfs", "boot", "tests", "qemu"}

// runAndFloor measures, per kernel, warm runs and bare boots in turn.
func (s *session) runAndFloor(ctx context.Context) error {
	s.rep.section(Section{
		Name:  SectionRun,
		Title: "warm run per kernel: total, phases (Result.Phases), guest milestones from QEMU's start",
		Command: "cnvmtest run -kernel K " + strs("-run", s.cfg.Run) +
			" (in-process harness.Run, " + s.guestSize() + ", with -v -json to time the output)",
	})
	s.rep.section(Section{
		Name: sectionFloor,
		Title: "floor: the same kernel and QEMU flags with a static init (harness/bench/floorinit) that powers off (bare boot), " +
			"or first loads the run's module and does " + itoa(FloorEchoes) + " echo round trips (echo floor, the floor of the README's goals)",
		Command: "go build -o floorinit ./harness/bench/floorinit; qemu-system-x86_64 <the run's qemu.cmdline> " +
			"with -initrd (dev/console + /init=floorinit [+ /module.ko]) and, for the echo floor, " + strs(floorEnv()...) + " appended",
	})
	for _, k := range s.cfg.Kernels {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o := s.options(k)
		s.logf("%s: warm-up run", k)
		warm := s.runOnce(ctx, o)
		s.kernel(warm.res)
		if !warm.ok() {
			s.rep.note(SectionRun, "%s: left out, the warm-up run failed: %s", k, warm.why())
			continue
		}
		bareImg, echoImg, err := s.floorImages(ctx, k, warm.res.Module)
		if err != nil {
			return err
		}
		var runs []runSample
		var bare, echo []floorSample
		for i := range s.cfg.N {
			s.logf("%s: run %d/%d", k, i+1, s.cfg.N)
			runs = append(runs, s.runOnce(ctx, o))
			bare = append(bare, s.floorOnce(ctx, warm.res, bareImg, nil))
			echo = append(echo, s.floorOnce(ctx, warm.res, echoImg, floorEnv()))
			s.logf("%s: run %.2fs, bare boot %.2fs, echo floor %.2fs", k,
				runs[i].total.Seconds(), bare[i].qemu.Seconds(), echo[i].qemu.Seconds())
		}
		s.addRuns(SectionRun, k, runs)
		s.addFloor(k, runs, bare, echo)
		s.cliRun(ctx, k)
		for _, f := range slices.Concat(bare, echo) {
			if f.err != nil {
				s.rep.note(sectionFloor, "%s: %v", k, f.err)
			}
		}
		s.noteSameFlags(sectionFloor, k, runs, bare, bareImg)
	}
	return nil
}

// addRuns adds the metrics of warm runs of kernel k to section.
func (s *session) addRuns(section, k string, runs []runSample) {
	col := func(f func(runSample) float64) []float64 { return column(runs, f) }
	s.noteFailures(section, k, runs)
	s.rep.add(section, k+" total", "s", col(func(r runSample) float64 { return r.total.Seconds() }))
	for _, p := range phases {
		s.rep.add(section, k+" phase "+p, "s", col(func(r runSample) float64 { return r.phase(p) }))
	}
	s.rep.add(section, k+" outside the phases", "s", col(func(r runSample) float64 {
		out := r.total.Seconds()
		for _, p := range []string{"prepare", "initramfs", "qemu"} {
			out -= r.phase(p)
		}
		return out
	}))
	marks := []struct{ name, ev string }{
		{"QEMU start to runner started", "boot"},
		{"QEMU start to module loaded", "module"},
		{"QEMU start to tests started", "start"},
	}
	for _, m := range marks {
		s.rep.add(section, k+" "+m.name, "s", col(func(r runSample) float64 { return r.since(r.clock.guestAt(m.ev)) }))
	}
	s.rep.add(section, k+" QEMU start to first test event", "s", col(func(r runSample) float64 { return r.since(r.clock.firstRun) }))
	s.rep.add(section, k+" QEMU start to first test result", "s", col(func(r runSample) float64 { return r.since(r.clock.firstResult) }))
	s.rep.add(section, k+" QEMU start to test program exit", "s", col(func(r runSample) float64 { return r.since(r.clock.guestAt("exit")) }))
	s.rep.add(section, k+" QEMU start to module unloaded", "s", col(func(r runSample) float64 { return r.since(r.clock.guestAt("unload")) }))
	s.rep.add(section, k+" QEMU start to runner done", "s", col(func(r runSample) float64 { return r.since(r.clock.guestAt("done")) }))
	s.rep.add(section, k+" QEMU peak RSS", "MiB", col(func(r runSample) float64 { return mib(r.hwmKiB) }))
}

func (s *session) addFloor(k string, runs []runSample, bare, echo []floorSample) {
	total := column(runs, func(r runSample) float64 { return r.total.Seconds() })
	runQEMU := column(runs, func(r runSample) float64 { return r.phase("qemu") })
	for _, f := range []struct {
		name    string
		samples []floorSample
	}{{"bare boot", bare}, {"echo floor", echo}} {
		qemu := floorColumn(f.samples, func(f floorSample) float64 { return f.qemu.Seconds() })
		s.rep.add(sectionFloor, k+" "+f.name+" (QEMU wall time)", "s", qemu)
		s.rep.add(sectionFloor, k+" "+f.name+" (vm.Run call)", "s", floorColumn(f.samples, func(f floorSample) float64 { return f.wall.Seconds() }))
		s.rep.add(sectionFloor, k+" "+f.name+": QEMU start to init", "s", floorColumn(f.samples, func(f floorSample) float64 { return f.init.Seconds() }))
		s.rep.add(sectionFloor, k+" "+f.name+": QEMU peak RSS", "MiB", floorColumn(f.samples, func(f floorSample) float64 { return mib(f.hwmKiB) }))
		s.rep.add(sectionFloor, k+" run total / "+f.name, "x", ratios(total, qemu))
		s.rep.add(sectionFloor, k+" run QEMU time / "+f.name, "x", ratios(runQEMU, qemu))
	}
}

// floorColumn is one metric of floor boots, NaN for those that failed.
func floorColumn(fs []floorSample, f func(floorSample) float64) []float64 {
	v := make([]float64, len(fs))
	for i, s := range fs {
		v[i] = nan
		if s.err == nil {
			v[i] = f(s)
		}
	}
	return v
}

// suite measures what users wait for: warm runs of the whole guest suite
// as make vmtest runs it (the first kernel, the C client shipped and
// required), in turn with a bare boot and an echo floor of the same kernel
// and QEMU flags, and each test's time.
func (s *session) suite(ctx context.Context) error {
	k := s.cfg.Kernels[0]
	s.rep.section(Section{
		Name: SectionSuite,
		Title: "warm whole guest suite as make vmtest runs it (every test of ./vmtests, C client required), " +
			"in turn with a bare boot and an echo floor of the same kernel and QEMU flags",
		Command: "make vmtest KERNEL=" + k + " (in-process harness.Run with -file out/cnclient -env CNVMTEST_CNCLIENT=required, " + s.guestSize() + ")",
	})
	o, err := s.suiteOptions(ctx, k)
	if err != nil {
		return err
	}
	s.logf("%s: whole suite, warm-up", k)
	warm := s.runOnce(ctx, o)
	s.kernel(warm.res)
	if !warm.ok() {
		return fmt.Errorf("%s: the warm-up run of the whole suite failed: %s", k, warm.why())
	}
	bareImg, echoImg, err := s.floorImages(ctx, k, warm.res.Module)
	if err != nil {
		return err
	}
	var runs []runSample
	var bare, echo []floorSample
	for i := range s.cfg.N {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logf("%s: whole suite %d/%d", k, i+1, s.cfg.N)
		runs = append(runs, s.runOnce(ctx, o))
		bare = append(bare, s.floorOnce(ctx, warm.res, bareImg, nil))
		echo = append(echo, s.floorOnce(ctx, warm.res, echoImg, floorEnv()))
		s.logf("%s: whole suite %.2fs, bare boot %.2fs, echo floor %.2fs", k,
			runs[i].total.Seconds(), bare[i].qemu.Seconds(), echo[i].qemu.Seconds())
	}
	col := func(f func(runSample) float64) []float64 { return column(runs, f) }
	s.noteFailures(SectionSuite, k, runs)
	total := col(func(r runSample) float64 { return r.total.Seconds() })
	bareQ := floorColumn(bare, func(f floorSample) float64 { return f.qemu.Seconds() })
	echoQ := floorColumn(echo, func(f floorSample) float64 { return f.qemu.Seconds() })
	s.rep.add(SectionSuite, k+" whole suite total", "s", total)
	s.rep.add(SectionSuite, k+" bare boot", "s", bareQ)
	s.rep.add(SectionSuite, k+" echo floor", "s", echoQ)
	s.rep.add(SectionSuite, k+" whole suite / echo floor", "x", ratios(total, echoQ))
	s.rep.add(SectionSuite, k+" whole suite / bare boot", "x", ratios(total, bareQ))
	for _, p := range []string{"binaries", "boot", "tests", "qemu"} {
		s.rep.add(SectionSuite, k+" phase "+p, "s", col(func(r runSample) float64 { return r.phase(p) }))
	}
	s.rep.add(SectionSuite, k+" tests passed", "tests", col(func(r runSample) float64 { return float64(r.res.Summary.Passed) }))
	for _, t := range slowest(runs, 10) {
		s.rep.add(SectionSuite, k+" test "+t.name, "s", t.times)
	}
	return nil
}

// suiteOptions are make vmtest's: the whole suite with the independent C
// client shipped and required, built here as the Makefile builds it.
func (s *session) suiteOptions(ctx context.Context, k string) (harness.Options, error) {
	o := s.options(k)
	o.Run = ""
	cc := filepath.Join(s.runs, "cnclient")
	if _, err := os.Stat(cc); err != nil {
		cmd := exec.CommandContext(ctx, "cc", "-static", "-O2", "-Wall", "-o", cc,
			filepath.Join(s.cfg.Repo, "vmtests", "testdata", "cnclient.c"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return o, fmt.Errorf("building the C client as make vmtest does: %v\n%s", err, out)
		}
	}
	o.Files = []string{cc}
	o.Env = []string{"CNVMTEST_CNCLIENT=required"}
	return o, nil
}

// testTimes is one top-level test's time in each run.
type testTimes struct {
	name   string
	times  []float64
	median float64
}

// slowest returns the n top-level tests with the longest median time.
func slowest(runs []runSample, n int) []testTimes {
	by := map[string][]float64{}
	for i, r := range runs {
		if !r.ok() {
			continue
		}
		for _, t := range r.res.Tests {
			if strings.Contains(t.Name, "/") {
				continue
			}
			if by[t.Name] == nil {
				by[t.Name] = slices.Repeat([]float64{nan}, len(runs))
			}
			by[t.Name][i] = t.Elapsed.Seconds()
		}
	}
	var ts []testTimes
	for name, times := range by {
		ts = append(ts, testTimes{name, times, summarize(times).Median})
	}
	slices.SortFunc(ts, func(a, b testTimes) int {
		if c := cmp.Compare(b.median, a.median); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return ts[:min(n, len(ts))]
}

// makeTest times `make test` from the source tree, as a developer runs it
// warm: once, as it takes minutes.
func (s *session) makeTest(ctx context.Context) error {
	s.rep.section(Section{
		Name:    SectionMakeTest,
		Title:   "make test, warm (host unit tests, the whole guest suite, the self-tests), once",
		Command: "make test (in " + s.cfg.Repo + ")",
	})
	cmd := exec.CommandContext(ctx, "make", "test")
	cmd.Dir = s.cfg.Repo
	cmd.Stdout, cmd.Stderr = s.cfg.RunLog, s.cfg.RunLog
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		s.rep.note(SectionMakeTest, "make test failed after %.1fs: %v; its output is in the log", d.Seconds(), err)
		s.failed = true
		return nil
	}
	s.rep.add(SectionMakeTest, "make test wall time", "s", []float64{d.Seconds()})
	return nil
}

func mib(kib uint64) float64 {
	if kib == 0 {
		return nan
	}
	return float64(kib) / 1024
}

// specName makes a kernel spec safe in a file name.
func specName(k string) string {
	return strings.NewReplacer(":", "-", "/", "-", ",", "-", "+", "-").Replace(k)
}

// column is one metric of runs, NaN for the runs that failed.
func column(runs []runSample, f func(runSample) float64) []float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = nan
		if r.ok() {
			v[i] = f(r)
		}
	}
	return v
}

// noteFailures records in section why each failed run of kernel k is left
// out of the figures.
func (s *session) noteFailures(section, k string, runs []runSample) {
	for _, r := range runs {
		if !r.ok() {
			s.rep.note(section, "%s: a run failed and is left out: %s", k, r.why())
		}
	}
}

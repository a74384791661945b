package bench

import (
	"context"
	"fmt"
	"strings"
)

const sectionFloor = "floor"

// phases are Result.Phases in the order a run goes through them.
var phases = []string{"kernel", "module", "binaries", "initramfs", "boot", "tests", "qemu"}

// runAndFloor measures, per kernel, warm runs and bare boots in turn.
func (s *session) runAndFloor(ctx context.Context) error {
	s.rep.section(Section{
		Name:  SectionRun,
		Title: "warm run per kernel: total, phases (Result.Phases), guest milestones from QEMU's start",
		Command: "cnvmtest run -kernel K " + strs("-run", s.cfg.Run) +
			" (in-process harness.Run, -cpus 2 -mem 1024, with -v -json to time the output)",
	})
	s.rep.section(Section{
		Name:  sectionFloor,
		Title: "bare boot of the same kernel: same QEMU flags, an initramfs with only a static init that powers off",
		Command: "go build -o floorinit ./harness/bench/floorinit; qemu-system-x86_64 <the run's qemu.cmdline> " +
			"with -initrd (dev/console + /init=floorinit)",
	})
	img, err := s.floorImage(ctx)
	if err != nil {
		return fmt.Errorf("building the floor image: %w", err)
	}
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
		var runs []runSample
		var floors []floorSample
		for i := range s.cfg.N {
			s.logf("%s: run %d/%d", k, i+1, s.cfg.N)
			runs = append(runs, s.runOnce(ctx, o))
			floors = append(floors, s.floorOnce(ctx, warm.res, img))
			s.logf("%s: run %.2fs, floor %.2fs", k, runs[i].total.Seconds(), floors[i].qemu.Seconds())
		}
		s.addRuns(SectionRun, k, runs)
		s.addFloor(k, runs, floors)
		s.cliRun(ctx, k)
		for i, f := range floors {
			if f.err != nil {
				s.rep.note(sectionFloor, "%s: %v", k, f.err)
				continue
			}
			same, runLine, floorLine, err := sameFlags(runs[i], img, f.cmdline)
			switch {
			case err != nil:
				s.rep.note(sectionFloor, "%s: cannot compare QEMU flags: %v", k, err)
			case same:
				s.rep.note(sectionFloor, "%s: QEMU flags identical to the run's but for the initramfs: %s", k, floorLine)
			default:
				s.rep.note(sectionFloor, "%s: QEMU flags DIFFER: run %s; floor %s", k, runLine, floorLine)
			}
			break
		}
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
		for _, p := range []string{"kernel", "module", "binaries", "initramfs", "qemu"} {
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
	s.rep.add(section, k+" QEMU start to runner done", "s", col(func(r runSample) float64 { return r.since(r.clock.guestAt("done")) }))
	s.rep.add(section, k+" QEMU peak RSS", "MiB", col(func(r runSample) float64 { return mib(r.hwmKiB) }))
}

func (s *session) addFloor(k string, runs []runSample, floors []floorSample) {
	qemu := make([]float64, len(floors))
	wall := make([]float64, len(floors))
	init := make([]float64, len(floors))
	rss := make([]float64, len(floors))
	for i, f := range floors {
		qemu[i], wall[i], init[i], rss[i] = nan, nan, nan, nan
		if f.err == nil {
			qemu[i], wall[i], init[i], rss[i] = f.qemu.Seconds(), f.wall.Seconds(), f.init.Seconds(), mib(f.hwmKiB)
		}
	}
	s.rep.add(sectionFloor, k+" bare boot (QEMU wall time)", "s", qemu)
	s.rep.add(sectionFloor, k+" bare boot (vm.Run call)", "s", wall)
	s.rep.add(sectionFloor, k+" QEMU start to init", "s", init)
	s.rep.add(sectionFloor, k+" QEMU peak RSS", "MiB", rss)

	total := make([]float64, len(runs))
	runQEMU := make([]float64, len(runs))
	for i, r := range runs {
		total[i], runQEMU[i] = nan, nan
		if r.ok() {
			total[i], runQEMU[i] = r.total.Seconds(), r.phase("qemu")
		}
	}
	s.rep.add(sectionFloor, k+" run total / floor", "x", ratios(total, qemu))
	s.rep.add(sectionFloor, k+" run QEMU time / floor", "x", ratios(runQEMU, qemu))
}

// suite measures warm runs of the whole guest suite on the first kernel.
func (s *session) suite(ctx context.Context) error {
	k := s.cfg.Kernels[0]
	s.rep.section(Section{
		Name:    SectionSuite,
		Title:   "warm run of the whole guest suite (./vmtests, every test)",
		Command: "cnvmtest run -kernel " + k + " (in-process harness.Run, -cpus 2 -mem 1024)",
	})
	o := s.options(k)
	o.Run = ""
	var runs []runSample
	for i := range s.cfg.N {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logf("%s: whole suite %d/%d", k, i+1, s.cfg.N)
		runs = append(runs, s.runOnce(ctx, o))
		s.logf("%s: whole suite %.2fs", k, runs[i].total.Seconds())
	}
	col := func(f func(runSample) float64) []float64 { return column(runs, f) }
	s.noteFailures(SectionSuite, k, runs)
	s.rep.add(SectionSuite, k+" total", "s", col(func(r runSample) float64 { return r.total.Seconds() }))
	for _, p := range []string{"binaries", "boot", "tests", "qemu"} {
		s.rep.add(SectionSuite, k+" phase "+p, "s", col(func(r runSample) float64 { return r.phase(p) }))
	}
	s.rep.add(SectionSuite, k+" tests passed", "tests", col(func(r runSample) float64 { return float64(r.res.Summary.Passed) }))
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

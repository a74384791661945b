// SPDX-License-Identifier: MIT

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/vm"
)

// DefaultArchKernels are the kernels the arch section compares: the same
// Debian series on each architecture cnvmtest boots.
var DefaultArchKernels = []string{"debian:6.1", "debian:6.1@arm64", "debian:6.1@s390x"}

// ArchOverheadLimit is the goal of issue 14: the harness's overhead per
// run on another architecture within 20 % of amd64's.
const ArchOverheadLimit = 1.2

// archOf is the architecture of kernel spec k (Debian's and Go's name),
// "" when the spec does not parse.
func archOf(k string) string {
	spec, err := kernel.ParseSpec(k)
	if err != nil {
		return ""
	}
	return spec.Architecture()
}

// archBaseline picks the kernel the others are compared with: the first
// amd64 one, "" when there is none.
func archBaseline(kernels []string) string {
	for _, k := range kernels {
		if archOf(k) == vm.AMD64 {
			return k
		}
	}
	return ""
}

// outsideBootAndTests is the harness's overhead per run, sample by sample:
// a run's total less its boot and tests phases (the kernel's boot to the
// runner's start, and the test program), NaN where any is unknown.
func outsideBootAndTests(total, boot, tests []float64) []float64 {
	out := make([]float64, min(len(total), len(boot), len(tests)))
	for i := range out {
		out[i] = total[i] - boot[i] - tests[i] // NaN in, NaN out
	}
	return out
}

// archOverheadKey is the metric of kernel k's overhead against the
// baseline's, the one the arch target reads.
func archOverheadKey(k string) string {
	return keyFor(SectionArch, k+" outside boot and tests / amd64's")
}

// archSuite measures, per architecture, warm whole-suite runs as make
// vmtest runs them against a bare boot of the same kernel on the same
// emulator, all kernels in turn in each iteration so that the machine's
// load hits every architecture alike.
func (s *session) archSuite(ctx context.Context) error {
	ks := s.cfg.ArchKernels
	s.rep.section(Section{
		Name: SectionArch,
		Title: "per architecture: warm whole guest suite (as make vmtest runs it, the C client built for the guest) " +
			"and a bare boot (floorinit built for the guest's GOARCH) of the same kernel with the run's QEMU flags; " +
			"outside boot and tests = total - boot phase - tests phase (the harness's overhead per run)",
		Command: "make vmtest KERNEL=K for K in " + strs(ks...) +
			" (in-process harness.Run with -file out/cnclient[-ARCH] -env CNVMTEST_CNCLIENT=required, " + s.guestSize() +
			"); qemu-system-ARCH <the run's qemu.cmdline> with -initrd (dev/console + /init=floorinit)",
	})
	type kern struct {
		k    string
		o    harness.Options
		warm *harness.Result
		img  string
		runs []runSample
		bare []floorSample
	}
	var live []*kern
	for _, k := range ks {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o, err := s.archSuiteOptions(ctx, k)
		if err != nil {
			s.rep.note(SectionArch, "%s: left out: %v", k, err)
			continue
		}
		s.logf("%s: whole suite, warm-up", k)
		warm := s.runOnce(ctx, o)
		s.kernel(warm.res)
		if !warm.ok() {
			s.rep.note(SectionArch, "%s: left out, the warm-up run of the whole suite failed: %s", k, warm.why())
			continue
		}
		img, err := s.bareImage(ctx, warm.res.Arch)
		if err != nil {
			s.rep.note(SectionArch, "%s: left out: %v", k, err)
			continue
		}
		s.rep.note(SectionArch, "%s: %s guest on %s", k, warm.res.Arch, warm.res.Emulator)
		live = append(live, &kern{k: k, o: o, warm: warm.res, img: img})
	}
	for i := range s.cfg.N {
		for _, kn := range live {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.logf("%s: whole suite %d/%d", kn.k, i+1, s.cfg.N)
			kn.runs = append(kn.runs, s.runOnce(ctx, kn.o))
			kn.bare = append(kn.bare, s.floorOnce(ctx, kn.warm, kn.img, nil))
			s.logf("%s: whole suite %.2fs, bare boot %.2fs", kn.k, kn.runs[i].total.Seconds(), kn.bare[i].qemu.Seconds())
		}
	}
	base := archBaseline(ks)
	outside := map[string][]float64{}
	for _, kn := range live {
		k := kn.k
		col := func(f func(runSample) float64) []float64 { return column(kn.runs, f) }
		s.noteFailures(SectionArch, k, kn.runs)
		for _, f := range kn.bare {
			if f.err != nil {
				s.rep.note(SectionArch, "%s: %v", k, f.err)
			}
		}
		s.noteSameFlags(SectionArch, k, kn.runs, kn.bare, kn.img)
		total := col(func(r runSample) float64 { return r.total.Seconds() })
		bareQ := floorColumn(kn.bare, func(f floorSample) float64 { return f.qemu.Seconds() })
		boot := col(func(r runSample) float64 { return r.phase("boot") })
		tests := col(func(r runSample) float64 { return r.phase("tests") })
		outside[k] = outsideBootAndTests(total, boot, tests)
		s.rep.add(SectionArch, k+" whole suite total", "s", total)
		s.rep.add(SectionArch, k+" bare boot", "s", bareQ)
		s.rep.add(SectionArch, k+" whole suite / bare boot", "x", ratios(total, bareQ))
		s.rep.add(SectionArch, k+" phase boot", "s", boot)
		s.rep.add(SectionArch, k+" phase tests", "s", tests)
		s.rep.add(SectionArch, k+" outside boot and tests", "s", outside[k])
		// Where the overhead goes: the prepare phase (kernel, module and
		// binaries looked up or built), and QEMU's time besides the boot
		// and the tests (the guest's end: the module's unload, power-off).
		s.rep.add(SectionArch, k+" phase prepare", "s", col(func(r runSample) float64 { return r.phase("prepare") }))
		qemu := col(func(r runSample) float64 { return r.phase("qemu") })
		s.rep.add(SectionArch, k+" phase qemu", "s", qemu)
		s.rep.add(SectionArch, k+" QEMU outside boot and tests", "s", outsideBootAndTests(qemu, boot, tests))
		s.rep.add(SectionArch, k+" tests passed", "tests", col(func(r runSample) float64 { return float64(r.res.Summary.Passed) }))
	}
	if base == "" || outside[base] == nil {
		s.rep.note(SectionArch, "no amd64 kernel measured: nothing to compare the others' overhead with")
		return nil
	}
	for _, kn := range live {
		if kn.k != base {
			s.rep.add(SectionArch, kn.k+" outside boot and tests / amd64's", "x", ratios(outside[kn.k], outside[base]))
		}
	}
	return nil
}

// archSuiteOptions are make vmtest's for kernel k: the whole suite with
// the C client built for k's architecture shipped and required, as the
// Makefile builds it (cc, or the cross gcc as out/cnclient-ARCH, which a
// guest of ARCH takes before out/cnclient). Without the cross
// compiler the suite runs without requiring the client, as a note says.
func (s *session) archSuiteOptions(ctx context.Context, k string) (harness.Options, error) {
	arch := archOf(k)
	if arch == "" {
		return harness.Options{}, fmt.Errorf("kernel spec %q does not parse", k)
	}
	if arch == vm.AMD64 {
		return s.suiteOptions(ctx, k)
	}
	o := s.options(k)
	o.Run = ""
	cc := filepath.Join(s.runs, "cnclient-"+arch)
	if _, err := os.Stat(cc); err != nil {
		gcc := archGCC(arch)
		cmd := exec.CommandContext(ctx, gcc, "-static", "-O2", "-Wall", "-o", cc,
			filepath.Join(s.cfg.Repo, "vmtests", "testdata", "cnclient.c"))
		if out, err := cmd.CombinedOutput(); err != nil {
			s.rep.note(SectionArch, "%s: the C client not built for %s (%s: %v %s): the suite runs without requiring it", k, arch, gcc, err, firstLine(string(out)))
			return o, nil
		}
	}
	o.Files = []string{cc}
	o.Env = []string{"CNVMTEST_CNCLIENT=required"}
	return o, nil
}

// archGCC is the cross compiler of Debian's gcc-ARCH-linux-gnu for arch.
func archGCC(arch string) string {
	switch arch {
	case vm.ARM64:
		return "aarch64-linux-gnu-gcc"
	}
	return arch + "-linux-gnu-gcc"
}

// noteSameFlags notes in section whether the first bare boot that worked
// had the QEMU flags of the run beside it, the initramfs aside.
func (s *session) noteSameFlags(section, k string, runs []runSample, bare []floorSample, img string) {
	for i, f := range bare {
		if f.err != nil || i >= len(runs) {
			continue
		}
		same, runLine, floorLine, err := sameFlags(runs[i], img, f.cmdline)
		switch {
		case err != nil:
			s.rep.note(section, "%s: cannot compare QEMU flags: %v", k, err)
		case same:
			s.rep.note(section, "%s: QEMU flags identical to the run's but for the initramfs: %s", k, floorLine)
		default:
			s.rep.note(section, "%s: QEMU flags DIFFER: run %s; floor %s", k, runLine, floorLine)
		}
		return
	}
}

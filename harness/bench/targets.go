// SPDX-License-Identifier: MIT

package bench

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/vm"
)

// targets sets the project's performance goals against the report.
func targets(r *Report, cfg Config) []Target {
	var ts []Target
	add := func(goal, key string, limit float64, unit string, higher bool, note string) {
		t := Target{Goal: goal, Limit: limit, Unit: unit, Note: note}
		if m, ok := r.Metric(key); ok {
			t.Metric, t.Value = key, m.Median
			t.Met = m.Median <= limit
			if higher {
				t.Met = m.Median >= limit
			}
		}
		ts = append(ts, t)
	}
	k := cfg.Kernels[0]
	add("warm whole suite (make vmtest) <= 4x the echo floor", keyFor(SectionSuite, k+" whole suite / echo floor"), 4, "x", false,
		"the whole ./vmtests suite with the C client, against a static init that loads the module and does "+itoa(FloorEchoes)+" echoes, same kernel and QEMU flags, interleaved")
	add("harness overhead: warm one-test run <= 1.3x a bare boot", keyFor(sectionFloor, k+" run total / bare boot"), 1.3, "x", false,
		"cnvmtest run "+strs("-run", cfg.Run)+" against a static init that powers off, same kernel and QEMU flags, interleaved")

	src := ""
	for _, k := range cfg.Kernels {
		if strings.HasPrefix(k, "debian-src:") || strings.HasPrefix(k, "src:") {
			src = k
			break
		}
	}
	if src == "" {
		add("minimal source-built kernel: whole warm run <= 2.5 s", "", 2.5, "s", false, "not asked for: add -kernels ...,debian-src:6.12")
	} else {
		add("minimal source-built kernel ("+src+"): whole warm run <= 2.5 s", keyFor(SectionRun, src+" total"), 2.5, "s", false, "")
	}

	best, bestKey := 0.0, ""
	for _, m := range r.Metrics {
		if m.Section == SectionMatrix && strings.HasPrefix(m.Name, "parallel") && strings.HasSuffix(m.Name, ": wall time") {
			if bestKey == "" || m.Median < best {
				best, bestKey = m.Median, m.Key()
			}
		}
	}
	note := ""
	if bestKey != "" {
		note = "fastest parallel variant: " + strings.TrimSuffix(strings.TrimPrefix(bestKey, SectionMatrix+" / "), ": wall time")
	}
	if m, ok := r.Metric(bestKey); ok {
		if floor, ok := r.Metric(keyFor(SectionSuite, k+" echo floor")); ok && floor.Median > 0 {
			r.add(SectionMatrix, "fastest parallel wall time / one echo floor", "x", []float64{m.Median / floor.Median})
		}
	}
	add("whole-suite matrix of 4 Debian kernels in parallel <= 10x one echo floor", keyFor(SectionMatrix, "fastest parallel wall time / one echo floor"), 10, "x", false, note)
	add("make test, warm <= 100 s", keyFor(SectionMakeTest, "make test wall time"), 100, "s", false, "measured once; cnvmtest bench -only maketest")
	add("connector round trip <= 1.2x raw syscalls", keyFor(SectionGuest, "RoundTripMixed conn/raw"), 1.2, "x", false,
		"64-byte echo, context without deadline, interleaved with raw in one benchmark; see also RoundTrip/conn/64B / raw")
	for _, ak := range cfg.ArchKernels {
		if a := archOf(ak); a == vm.AMD64 || a == "" {
			continue
		}
		note := "the whole suite, warm, interleaved with " + archBaseline(cfg.ArchKernels) + "; total - boot - tests phases"
		switch {
		case !slices.Contains(cfg.Sections, SectionArch):
			note = "not asked for: cnvmtest bench -arch"
		case archBaseline(cfg.ArchKernels) == "":
			note = "no amd64 kernel in -arch-kernels to compare with"
		}
		add("harness overhead per run on "+archOf(ak)+" ("+ak+") within 20% of amd64's", archOverheadKey(ak), ArchOverheadLimit, "x", false, note)
	}
	add("cold start <= 4 min", keyFor(SectionCold, cfg.Kernels[0]+" total"), 240, "s", false, "")
	return ts
}

func itoa(n int) string { return strconv.Itoa(n) }

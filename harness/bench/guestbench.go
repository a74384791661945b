// SPDX-License-Identifier: MIT

package bench

import (
	"context"
	"strings"
)

// guestPkg is the package of guest benchmarks.
const guestPkg = "./harness/bench/guest"

// guestBench runs the echo benchmarks in the guest N times, each time in a
// fresh guest, and reports each benchmark's ns/op, B/op and allocs/op, the
// messages per second that ns/op means, and connector against raw.
func (s *session) guestBench(ctx context.Context) error {
	k := s.cfg.Kernels[0]
	s.rep.section(Section{
		Name:  SectionGuest,
		Title: "echo through package connector against raw syscalls, in the same guest (" + k + ")",
		Command: "cnvmtest run -kernel " + k + " -tests " + guestPkg + " -run TestEchoPaths -bench . -benchtime " +
			s.cfg.GuestBenchTime + " -json (-test.benchmem added); ns/op from the benchmark lines",
	})
	o := s.options(k)
	o.TestsPkg, o.Run, o.Bench, o.BenchTime = guestPkg, "^TestEchoPaths$", ".", s.cfg.GuestBenchTime
	var all benchSamples
	runs := 0
	for i := range s.cfg.N {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logf("guest benchmarks %d/%d", i+1, s.cfg.N)
		// A run that passed but printed no benchmark line measured nothing.
		r := s.runJudged(ctx, o, func(r runSample) bool {
			return r.ok() && len(parseBench(r.clock.output.String())) > 0
		})
		lines := parseBench(r.clock.output.String())
		if !r.ok() || len(lines) == 0 {
			s.rep.note(SectionGuest, "a run is left out: %d benchmark lines, %s", len(lines), r.why())
			continue
		}
		runs++
		all.add(lines)
	}
	if runs == 0 {
		return nil
	}
	for _, name := range all.names {
		v := all.samples[name]
		short := strings.TrimPrefix(name, "Benchmark")
		s.rep.add(SectionGuest, short+" time", "ns/op", v["ns/op"])
		s.rep.addHigher(SectionGuest, short+" rate", "msg/s", perSecond(v["ns/op"]))
		s.rep.add(SectionGuest, short+" memory", "B/op", v["B/op"])
		s.rep.add(SectionGuest, short+" allocations", "allocs/op", v["allocs/op"])
	}
	for _, pair := range [][2]string{
		{"BenchmarkRoundTrip/conn/64B", "BenchmarkRoundTrip/raw/64B"},
		{"BenchmarkRoundTrip/conn-deadline/64B", "BenchmarkRoundTrip/raw/64B"},
		{"BenchmarkRoundTrip/conn/4096B", "BenchmarkRoundTrip/raw/4096B"},
		{"BenchmarkRoundTrip/conn-deadline/4096B", "BenchmarkRoundTrip/raw/4096B"},
		{"BenchmarkWindow/conn/64B", "BenchmarkWindow/raw/64B"},
	} {
		a, b := all.samples[pair[0]], all.samples[pair[1]]
		if a == nil || b == nil {
			continue
		}
		name := strings.TrimPrefix(pair[0], "Benchmark") + " / raw"
		s.rep.add(SectionGuest, name, "x", ratios(a["ns/op"], b["ns/op"]))
	}
	// The interleaved benchmark's own ratios: the clients measured turn
	// about, so that the host's load hits them alike.
	if m := all.samples[mixedBench]; m != nil {
		for _, unit := range []string{"conn/raw", "conn-deadline/raw"} {
			s.rep.add(SectionGuest, strings.TrimPrefix(mixedBench, "Benchmark")+" "+unit, "x", m[unit])
		}
		for _, unit := range []string{"raw-ns/echo", "conn-ns/echo", "conn-deadline-ns/echo"} {
			s.rep.add(SectionGuest, strings.TrimPrefix(mixedBench, "Benchmark")+" "+unit, "ns", m[unit])
		}
	}
	return nil
}

// mixedBench interleaves raw and connector round trips (see package guest).
const mixedBench = "BenchmarkRoundTripMixed"

func perSecond(nsPerOp []float64) []float64 {
	out := make([]float64, len(nsPerOp))
	for i, v := range nsPerOp {
		out[i] = nan
		if v > 0 {
			out[i] = 1e9 / v
		}
	}
	return out
}

// SPDX-License-Identifier: MIT

package bench

import (
	"context"
	"strconv"
	"strings"
)

// hostPkg holds the encoder benchmarks (connector/bench_test.go).
const hostPkg = "./connector"

// hostBench runs the connector's encoder benchmarks on the host with
// -count N, so each gives N samples.
func (s *session) hostBench(ctx context.Context) error {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(s.cfg.N)}
	if s.cfg.HostBenchTime != "" {
		args = append(args, "-benchtime", s.cfg.HostBenchTime)
	}
	args = append(args, hostPkg)
	s.rep.section(Section{
		Name:    SectionHost,
		Title:   "connector encoders on the host, with allocations",
		Command: "go " + strs(args...),
	})
	out, err := goCmd(ctx, s.cfg.Repo, nil, args...)
	if err != nil {
		return err
	}
	var all benchSamples
	all.add(parseBench(string(out)))
	for _, name := range all.names {
		v := all.samples[name]
		short := strings.TrimPrefix(name, "Benchmark")
		s.rep.add(SectionHost, short+" time", "ns/op", v["ns/op"])
		s.rep.add(SectionHost, short+" memory", "B/op", v["B/op"])
		s.rep.add(SectionHost, short+" allocations", "allocs/op", v["allocs/op"])
	}
	return nil
}

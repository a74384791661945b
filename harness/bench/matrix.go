// SPDX-License-Identifier: MIT

package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// matrixVariant is one way of running the matrix.
type matrixVariant struct {
	name     string
	parallel int // as -parallel; 0 is the harness's default
}

// matrix picks the first MatrixSize candidate kernels whose warm-up run
// passes, then runs them as a matrix in parallel and one after another,
// in turn, N times.
func (s *session) matrix(ctx context.Context) error {
	var chosen []string
	for _, k := range s.cfg.Matrix {
		if len(chosen) == s.cfg.MatrixSize || ctx.Err() != nil {
			break
		}
		s.logf("matrix: warm-up run of %s", k)
		o, err := s.suiteOptions(ctx, k)
		if err != nil {
			return err
		}
		r := s.runOnce(ctx, o)
		s.kernel(r.res)
		if !r.ok() {
			s.rep.note(SectionMatrix, "%s: left out, its warm-up run failed: %s", k, r.why())
			continue
		}
		chosen = append(chosen, k)
	}
	list := strings.Join(chosen, ",")
	s.rep.section(Section{
		Name:    SectionMatrix,
		Title:   fmt.Sprintf("the whole suite on a matrix of %d kernels, in parallel against one after another", len(chosen)),
		Command: "make vmtest KERNEL=" + list + " [VMFLAGS=-parallel P] (in-process harness.RunMatrix, " + s.guestSize() + ")",
	})
	if len(chosen) < 2 {
		return fmt.Errorf("fewer than two candidate kernels passed their warm-up run")
	}
	if len(chosen) < s.cfg.MatrixSize {
		s.rep.note(SectionMatrix, "only %d of the %d kernels asked for passed their warm-up run", len(chosen), s.cfg.MatrixSize)
	}
	def := harness.MatrixParallel()
	variants := []matrixVariant{{fmt.Sprintf("parallel, harness default (%d at a time)", min(def, len(chosen))), 0}}
	if def < len(chosen) {
		variants = append(variants, matrixVariant{fmt.Sprintf("parallel, all %d at once (-parallel %d)", len(chosen), len(chosen)), len(chosen)})
	}
	variants = append(variants, matrixVariant{"one after another (-parallel 1)", 1})

	wall := make([][]float64, len(variants))
	added := make([][]float64, len(variants))
	rss := make([][]float64, len(variants))
	for i := range s.cfg.N {
		for v, mv := range variants {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.logf("matrix %d/%d: %s", i+1, s.cfg.N, mv.name)
			o, err := s.suiteOptions(ctx, "")
			if err != nil {
				return err
			}
			o.Verbose, o.JSON = false, false
			o.Stdout, o.Stderr = io.Discard, io.Discard
			w := watchQEMU()
			start := time.Now()
			results := harness.RunMatrix(ctx, o, chosen, mv.parallel)
			d := time.Since(start)
			_, sum := w.Stop()
			var sumRuns time.Duration
			ok := true
			for _, m := range results {
				s.tidy(m.Result, m.Outcome() == report.Pass)
				sumRuns += m.Elapsed
				if m.Outcome() != report.Pass {
					ok = false
					s.failed = true
					reason := ""
					if m.Err != nil {
						reason = m.Err.Error()
					} else if m.Result != nil {
						reason = firstLine(m.Result.Reason) + " (run directory " + m.Result.RunDir + ")"
					}
					s.rep.note(SectionMatrix, "%s, %s: %s: %s; the sample is left out", mv.name, m.Kernel, m.Outcome(), reason)
				}
			}
			s.logf("matrix: %s %.2fs", mv.name, d.Seconds())
			wall[v], added[v], rss[v] = append(wall[v], nan), append(added[v], nan), append(rss[v], mib(sum))
			if ok {
				wall[v][i], added[v][i] = d.Seconds(), sumRuns.Seconds()
			}
		}
	}
	for v, mv := range variants {
		s.rep.add(SectionMatrix, mv.name+": wall time", "s", wall[v])
		s.rep.add(SectionMatrix, mv.name+": runs added up", "s", added[v])
		s.rep.add(SectionMatrix, mv.name+": QEMU RSS of the guests together, peak", "MiB", rss[v])
	}
	serial := wall[len(variants)-1]
	for v, mv := range variants[:len(variants)-1] {
		s.rep.addHigher(SectionMatrix, "speed-up of "+mv.name+" over one after another", "x", ratios(serial, wall[v]))
	}
	s.rep.note(SectionMatrix, "kernels: %s; %d CPUs; parallel guests get 1 vCPU each, serial ones %s", list, def, s.guestSize())
	return nil
}

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
	"strconv"
	"strings"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/cnvmtest/cnvmtest/internal/fsutil"
)

// cold runs the CLI once with CNVMTEST_CACHE and GOCACHE pointing at empty
// directories: apt lists, kernel download and unpacking, module build,
// the guest binaries compiled from scratch (the standard library
// included), then the run. Go's module cache stays: its modules are the
// installed packages, as the kernel packages' apt archive is.
func (s *session) cold(ctx context.Context) error {
	k := s.cfg.Kernels[0]
	args := []string{"run", "-kernel", k, "-run", s.cfg.Run, "-v", "-out", s.runs}
	s.rep.section(Section{
		Name:    SectionCold,
		Title:   "cold start: empty kernel store, module, binary and Go build caches (Go's module cache kept), once",
		Command: "CNVMTEST_CACHE=$(mktemp -d) GOCACHE=$(mktemp -d) cnvmtest " + strs(args...),
	})
	if s.cfg.Exe == "" {
		return fmt.Errorf("no cnvmtest binary to run")
	}
	cache, err := os.MkdirTemp(s.cfg.WorkDir, "cold-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	gocache, err := os.MkdirTemp(s.cfg.WorkDir, "cold-gocache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(gocache)
	logPath := filepath.Join(s.cfg.WorkDir, "cold-"+time.Now().Format("20060102-150405")+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()

	cmd := exec.CommandContext(ctx, s.cfg.Exe, args...)
	cmd.Dir = s.cfg.Repo
	cmd.Env = append(os.Environ(), "CNVMTEST_CACHE="+cache, "GOCACHE="+gocache)
	var stderr bytes.Buffer
	cmd.Stdout = logf
	cmd.Stderr = io.MultiWriter(&stderr, logf, s.log)
	w := watchQEMU()
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	hwm, _ := w.Stop()
	s.qemuHWM = max(s.qemuHWM, hwm)
	s.rep.note(SectionCold, "log: %s", logPath)
	if err != nil {
		s.failed = true
		return fmt.Errorf("cold run failed (%v); see %s", err, logPath)
	}
	s.tidyLatest()
	one := func(v float64) []float64 { return []float64{v} }
	s.rep.add(SectionCold, k+" total", "s", one(d.Seconds()))
	if s.accel == "" {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "cnvmtest: accelerator "); ok {
				a, _, _ := strings.Cut(rest, ":")
				s.accel = vm.Accel(a)
			}
		}
	}
	got := phaseLines(stderr.String())
	for _, name := range phases {
		if v, ok := got[name]; ok {
			s.rep.add(SectionCold, k+" phase "+name, "s", one(v))
		}
	}
	s.rep.add(SectionCold, k+" harness (CLI process) peak RSS", "MiB", one(mib(w.peakOf(comm(s.cfg.Exe)))))
	s.rep.add(SectionCold, k+" CLI process and its children, wait4 peak RSS", "MiB", one(mib(childMaxRSS(cmd.ProcessState))))
	s.rep.add(SectionCold, k+" QEMU peak RSS", "MiB", one(mib(hwm)))
	if du, err := fsutil.DirSize(cache); err == nil {
		s.rep.add(SectionCold, "cache size after the run", "MiB", one(float64(du)/(1<<20)))
	}
	return nil
}

// phaseLines reads the "cnvmtest: phase NAME 1.23s" lines of -v.
func phaseLines(stderr string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, "cnvmtest: phase ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "s"), 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

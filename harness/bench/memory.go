// SPDX-License-Identifier: MIT

package bench

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// memory reports the peak resident sets seen during the session.
func (s *session) memory() {
	s.rep.section(Section{
		Name:  SectionMemory,
		Title: "peak resident set sizes over the session",
		Command: "getrusage(RUSAGE_SELF, RUSAGE_CHILDREN) of the bench process (the harness runs in it); " +
			"QEMU: VmHWM of /proc/PID/status, polled every 200ms; the CLI: wait4 rusage of a child cnvmtest run",
	})
	self, _ := maxRSS()
	one := func(v float64) []float64 { return []float64{v} }
	s.rep.add(SectionMemory, "QEMU, largest single guest", "MiB", one(mib(s.qemuHWM)))
	s.rep.add(SectionMemory, "bench process with the in-process harness", "MiB", one(mib(self)))
	peaks := commPeaks()
	names := make([]string, 0, len(peaks))
	for n := range peaks {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(peaks[b]) - int(peaks[a]) })
	for _, n := range names[:min(len(names), 6)] {
		s.rep.add(SectionMemory, "child process "+n+", largest", "MiB", one(mib(peaks[n])))
	}
}

// comm is the name /proc gives a process running path: at most 15 bytes.
func comm(path string) string {
	b := filepath.Base(path)
	return b[:min(len(b), 15)]
}

// cliRun times one warm run of the CLI as a child process, for its wall
// time from the user's point of view and its own peak resident set.
func (s *session) cliRun(ctx context.Context, k string) {
	if s.cfg.Exe == "" {
		return
	}
	cmd := exec.CommandContext(ctx, s.cfg.Exe, "run", "-kernel", k, "-run", s.cfg.Run,
		"-cpus", itoa(s.cfg.CPUs), "-mem", itoa(s.cfg.MemoryMB), "-accel", s.cfg.Accel, "-out", s.runs)
	cmd.Dir = s.cfg.Repo
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	w := watchQEMU()
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	w.Stop()
	cli := w.peakOf(comm(s.cfg.Exe))
	if err != nil {
		s.failed = true
		s.rep.note(SectionRun, "%s: the CLI run as a child process failed: %v", k, err)
		return
	}
	s.tidyLatest()
	one := func(v float64) []float64 { return []float64{v} }
	s.rep.add(SectionRun, k+" CLI as a child process, total (1 run)", "s", one(d.Seconds()))
	s.rep.add(SectionMemory, "cnvmtest run CLI process, warm ("+k+")", "MiB", one(mib(cli)))
}

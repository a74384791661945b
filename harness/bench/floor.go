// SPDX-License-Identifier: MIT

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cnvmtest/cnvmtest/harness"
	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/u-root/mkuimage/cpio"
)

// FloorMarker is the line harness/bench/floorinit prints on the console
// when it starts, proof that the kernel reached it; FloorDone the line it
// prints when it has done its work.
const (
	FloorMarker = "cnvmtest-floor: init reached"
	FloorDone   = "cnvmtest-floor: done"
)

// FloorEchoes is how many echo round trips the echo floor does: the
// floor the project's speed goals are stated against (README: Benchmarks).
const FloorEchoes = 10000

// floorTimeout bounds one floor boot; under TCG it takes seconds.
const floorTimeout = 3 * time.Minute

// floorProgram builds harness/bench/floorinit for guests of goarch
// (Debian's and Go's names agree: amd64, arm64), once per session and
// architecture.
func (s *session) floorProgram(ctx context.Context, goarch string) ([]byte, error) {
	if goarch == "" {
		goarch = vm.AMD64
	}
	if prog, ok := s.floorProgs[goarch]; ok {
		return prog, nil
	}
	bin := filepath.Join(s.runs, "floorinit-"+goarch)
	if _, err := goCmd(ctx, s.cfg.Repo, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch},
		"build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./harness/bench/floorinit"); err != nil {
		return nil, fmt.Errorf("building the floor init for %s: %w", goarch, err)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	if s.floorProgs == nil {
		s.floorProgs = map[string][]byte{}
	}
	s.floorProgs[goarch] = prog
	return prog, nil
}

// floorImages returns the bare-boot image and the echo-floor image for
// kernel k's module ko (an amd64 kernel), building the floor init once
// per session.
func (s *session) floorImages(ctx context.Context, k, ko string) (bare, echo string, err error) {
	prog, err := s.floorProgram(ctx, vm.AMD64)
	if err != nil {
		return "", "", err
	}
	if bare, err = s.floorImage("floor-bare", prog, ""); err != nil {
		return "", "", err
	}
	echo, err = s.floorImage("floor-echo-"+specName(k), prog, ko)
	return bare, echo, err
}

// bareImage returns the bare-boot image for guests of arch.
func (s *session) bareImage(ctx context.Context, arch string) (string, error) {
	prog, err := s.floorProgram(ctx, arch)
	if err != nil {
		return "", err
	}
	return s.floorImage("floor-bare-"+arch, prog, "")
}

// floorImage writes an initramfs holding only prog as /init,
// /dev/console, so that its output reaches the console, and, if ko is not
// "", the module as /module.ko.
func (s *session) floorImage(name string, prog []byte, ko string) (string, error) {
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.StaticFile("init", string(prog), 0o755),
	}
	if ko != "" {
		b, err := os.ReadFile(ko)
		if err != nil {
			return "", fmt.Errorf("floor initramfs: %w", err)
		}
		recs = append(recs, cpio.StaticFile("module.ko", string(b), 0o644))
	}
	img := filepath.Join(s.runs, name+".cpio")
	f, err := os.Create(img)
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := cpio.Newc.Writer(f)
	if err := cpio.WriteRecords(w, recs); err != nil {
		return "", fmt.Errorf("floor initramfs: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return "", fmt.Errorf("floor initramfs: %w", err)
	}
	return img, f.Close()
}

// floorEnv is the kernel command line that makes floorinit load the
// module and echo through the id the runs use (cn_echo's default, as the
// bench passes no module parameters).
func floorEnv() []string {
	return []string{"CNVMTEST_FLOOR_MODULE=/module.ko", "CNVMTEST_FLOOR_ID=16:1",
		"CNVMTEST_FLOOR_ECHOES=" + itoa(FloorEchoes)}
}

// floorSample is one floor boot.
type floorSample struct {
	err     error
	qemu    time.Duration // QEMU's wall time, as vm.Exit reports it
	wall    time.Duration // from the call to vm.Run to its return
	init    time.Duration // from the call to the marker on the console
	hwmKiB  uint64
	cmdline []string
}

// floorOnce boots the kernel of a warm run with a floor initramfs and
// the same vm.Config as harness.Run gives QEMU: same architecture and
// QEMU binary, image, guest size, accelerator, kernel command line (plus env, floorinit's environment).
func (s *session) floorOnce(ctx context.Context, warm *harness.Result, img string, env []string) floorSample {
	q, err := vm.FindQEMUFor("", warm.Arch)
	if err != nil {
		return floorSample{err: err}
	}
	var (
		mu              sync.Mutex
		console         bytes.Buffer
		reached, finish time.Time
	)
	start := time.Now()
	con := lineWriter(func(at time.Time, line string) {
		mu.Lock()
		defer mu.Unlock()
		console.WriteString(line + "\n")
		if reached.IsZero() && strings.Contains(line, FloorMarker) {
			reached = at
		}
		if finish.IsZero() && strings.Contains(line, FloorDone) {
			finish = at
		}
	})
	w := watchQEMU()
	exit, err := vm.Run(ctx, vm.Config{
		QEMU:      q,
		Accel:     warm.Accel,
		Arch:      warm.Arch,
		Kernel:    warm.Kernel.Image,
		Initramfs: img,
		Append:    append([]string{"quiet"}, env...),
		MemoryMB:  warm.MemoryMB,
		CPUs:      warm.CPUs,
		Timeout:   floorTimeout,
		Console:   con,
	})
	fs := floorSample{wall: time.Since(start)}
	fs.hwmKiB, _ = w.Stop()
	s.qemuHWM = max(s.qemuHWM, fs.hwmKiB)
	if err != nil {
		fs.err = err
		return fs
	}
	fs.qemu, fs.cmdline = exit.Elapsed, exit.Cmdline
	mu.Lock()
	defer mu.Unlock()
	switch {
	case exit.TimedOut:
		fs.err = fmt.Errorf("floor boot timed out after %s", exit.Elapsed)
	case reached.IsZero():
		fs.err = fmt.Errorf("floor boot: the init never printed %q (QEMU status %d)", FloorMarker, exit.ExitCode())
	case finish.IsZero():
		fs.err = fmt.Errorf("floor boot: the init never printed %q: it failed", FloorDone)
	case exit.ExitCode() != 0:
		fs.err = fmt.Errorf("floor boot: QEMU exit status %d", exit.ExitCode())
	}
	if fs.err != nil {
		log := filepath.Join(s.runs, fmt.Sprintf("floor-%d.console.log", time.Now().UnixNano()))
		os.WriteFile(log, console.Bytes(), 0o644)
		fs.err = fmt.Errorf("%w (console: %s)", fs.err, log)
		s.failed = true
		return fs
	}
	fs.init = reached.Sub(start)
	return fs
}

// sameFlags compares the bare floor's QEMU command line with the one the
// run saved in its run directory, the initramfs aside.
func sameFlags(run runSample, floorImg string, floor []string) (bool, string, string, error) {
	if run.cmdline == "" || run.res == nil {
		return false, "", "", fmt.Errorf("the run saved no qemu.cmdline")
	}
	runLine := strings.TrimSpace(strings.ReplaceAll(run.cmdline, filepath.Join(run.res.RunDir, "initramfs.cpio"), "INITRAMFS"))
	floorLine := strings.ReplaceAll(strs(floor...), floorImg, "INITRAMFS")
	return fieldsEqual(runLine, floorLine), runLine, floorLine, nil
}

// fieldsEqual compares two command lines word by word, so that quoting
// styles do not matter where no word holds a space.
func fieldsEqual(a, b string) bool {
	unq := func(s string) []string { return strings.Fields(strings.NewReplacer("'", "", `"`, "").Replace(s)) }
	fa, fb := unq(a), unq(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] != fb[i] {
			return false
		}
	}
	return true
}

// SPDX-License-Identifier: MIT

//go:build linux

// Package runner is the guest side of cnvmtest: [Main] is the guest's
// runner, in the small program initramfs/runner, in the cnvmtest binary
// itself when that boots as the guest's init, or in a test binary that
// calls [AsInit] first. By default the kernel starts it as /init, so it
// first mounts what the guest needs (see setupInit); with -init u-root
// (and for the shell) u-root's init starts it as /bin/uinit instead. It
// loads the module under test, runs the program (the test binary with
// -test.v=test2json, or any static program), streams the program's
// output live on the result port together with control records (see
// package guest), unloads the module and powers the guest off.
//
// Results are written as they happen, so a kernel crash in the middle of a
// run loses nothing that came before it.
package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/sys/unix"

	"github.com/cnvmtest/cnvmtest/internal/gotest"
)

// Main runs the guest: it never returns (it powers the guest off).
func Main() {
	var initErr error
	if os.Getpid() == 1 {
		initErr = setupInit()
	}
	realtime()
	f, err := openPort(guest.ResultPortFor(runtime.GOARCH), "/"+guest.PortModulesDir)
	if err != nil {
		// Without a result port the host can only see the console.
		fmt.Fprintf(os.Stderr, "cnvmtest runner: %v\n", err)
		powerOff()
	}
	out := &port{w: f}
	if initErr != nil {
		err = fmt.Errorf("setting up the guest as its init: %w", initErr)
	} else {
		err = run(out)
	}
	if err != nil {
		out.record(guest.Record{Event: guest.EvError, Error: err.Error()})
	}
	out.record(guest.Record{Event: guest.EvDone, Taint: taint()})
	f.Sync()
	powerOff()
}

// initName is the name the kernel starts an initramfs's init with, its
// argv[0] (init/main.c: ramdisk_execute_command, run_init_process).
const initName = "/init"

// inside is guest.RunnerInside() written out, in a variable AsInit reads,
// so that every program calling AsInit holds the words the harness looks
// for.
var inside = "cnvmtest: this program is also the guest runner, protocol 1"

// AsInit runs the runner, and never returns, when this process is the
// guest's init as the kernel started it: process 1, named /init. A test
// binary whose TestMain calls AsInit first is its own runner, and the
// harness boots it as /init (a link to it), so the guest starts one Go
// program twice instead of two once. Under TCG the second start of the
// same file finds its code translated already; the first start of a
// different program translates it all again (a one-test run about 0.18 s
// shorter, in interleaved boots of the two images). Anywhere else (the test binary the runner starts,
// its helpers, a helper that is process 1 of a new PID namespace) AsInit
// returns at once.
func AsInit() {
	if isInit(os.Getpid(), os.Args) && inside != "" {
		Main()
	}
}

// isInit reports whether a process pid started with args is the init the
// kernel started.
func isInit(pid int, args []string) bool {
	return pid == 1 && len(args) > 0 && args[0] == initName
}

// port serialises writes to the result port: whole lines only, so control
// records always start a line.
type port struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *port) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w.Write(b)
}

func (p *port) record(r guest.Record) { p.write(r.Encode()) }

func run(out *port) error {
	var uts unix.Utsname
	unix.Uname(&uts)
	out.record(guest.Record{Event: guest.EvBoot, Kernel: unix.ByteSliceToString(uts.Release[:]), Taint: taint()})

	b, err := os.ReadFile("/" + guest.ConfigPath)
	if err != nil {
		return fmt.Errorf("reading run configuration: %w", err)
	}
	var cfg guest.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("parsing %s: %w", guest.ConfigPath, err)
	}
	// The kernel runs with quiet, and u-root's init lowers the level
	// further; tests want the kernel's informational lines (stack traces
	// of hung tasks, sysrq dumps, the module's own messages) on the
	// console the host analyses.
	os.WriteFile("/proc/sys/kernel/printk", []byte("7"), 0)

	if cfg.Module != "" {
		start := time.Now()
		if err := loadModule(cfg.Module, cfg.Params); err != nil {
			out.record(guest.Record{Event: guest.EvModule, Error: err.Error(), Taint: taint()})
			return nil
		}
		out.record(guest.Record{Event: guest.EvModule, Taint: taint(), Elapsed: time.Since(start)})
	}

	if cfg.Shell {
		return runShell(out, cfg)
	}
	var status int
	var elapsed time.Duration
	if cfg.Gcov == guest.GcovPerTest {
		status, elapsed, err = runPerTest(out, cfg, gcovFS{guest.GcovDir})
	} else {
		status, elapsed, err = runProgram(out, cfg, cfg.Args, nil)
	}
	if err != nil {
		return err
	}
	out.record(guest.Record{Event: guest.EvExit, Status: status, Taint: taint(), Elapsed: elapsed})
	if cfg.CoverDir != "" || len(cfg.Collect) > 0 {
		sendFiles(out, cfg.CoverDir, cfg.Collect)
	}

	if cfg.Module != "" && cfg.Unload {
		rec := guest.Record{Event: guest.EvUnload}
		if err := unloadModule(cfg.Module); err != nil {
			rec.Error = err.Error()
		}
		rec.Taint = taint()
		out.record(rec)
	}
	// After the unload, whose code the module's counters then hold too:
	// the kernel keeps an unloaded module's counters (gcov_persist,
	// kernel/gcov/fs.c).
	switch cfg.Gcov {
	case guest.GcovRun:
		sendGcov(out, gcovFS{guest.GcovDir}, guest.GcovAll)
	case guest.GcovPerTest:
		sendGcov(out, gcovFS{guest.GcovDir}, guest.GcovUnload)
	}
	if _, err := os.Stat(kmemleakFile); err == nil {
		scanLeaks(func() error { return os.WriteFile(kmemleakFile, []byte("scan"), 0) },
			func() ([]byte, error) { return os.ReadFile(kmemleakFile) }, writeKmsg)
	}
	return nil
}

// mountWorkDir makes the working directory the initramfs staged under
// guest.WorkDirStage appear at its own path, which may be under /tmp,
// where the runner has mounted a tmpfs since.
func mountWorkDir(dir string) error {
	staged := "/" + guest.WorkDirStage + dir
	if _, err := os.Stat(staged); err != nil {
		return os.MkdirAll(dir, 0o755) // an empty directory was copied
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(staged, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mounting the working directory %s: %w", dir, err)
	}
	return nil
}

// sendFiles sends the regular files of dir and the files named to the
// host, one record each: Go's coverage data, a few kilobytes. A named
// file the program did not write is left out.
func sendFiles(out *port, dir string, files []string) {
	var paths []string
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			out.record(guest.Record{Event: guest.EvError, Error: "coverage data: " + err.Error()})
			return
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			paths = append(paths, f)
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			out.record(guest.Record{Event: guest.EvError, Error: "coverage data: " + err.Error()})
			return
		}
		out.record(guest.Record{Event: guest.EvFile, Name: p, Data: b})
	}
}

// kmemleakFile is kmemleak's control file; it exists on kernels built
// with CONFIG_DEBUG_KMEMLEAK (the debug flavour) once debugfs is mounted.
var kmemleakFile = "/sys/kernel/debug/kmemleak"

// scanLeaks asks kmemleak, where the kernel has it, for the leaks of the
// whole run, after the module's unload so that the module's own objects
// count too. A scan reports only objects it found unreferenced in an
// earlier scan as well (mm/kmemleak.c, kmemleak_scan and its use of the
// object's count of scans), hence two. Each leak goes to the console,
// where the host finds "unreferenced object" reports like any other and
// gives them to the run, since no test is running.
func scanLeaks(scan func() error, read func() ([]byte, error), print func(string)) {
	print("cnvmtest: kmemleak: scanning after the run")
	for range 2 {
		if err := scan(); err != nil {
			print("cnvmtest: kmemleak: scan: " + err.Error())
			return
		}
	}
	b, err := read()
	if err != nil {
		print("cnvmtest: kmemleak: " + err.Error())
		return
	}
	// One object of each backtrace goes to the console, then how many
	// more share it: a leak in a loop (thousands of sockets) would
	// otherwise take minutes of a serial console under emulation.
	var order []string
	first := map[string][]string{}
	count := map[string]int{}
	for _, obj := range leakObjects(string(b)) {
		key := obj[0][strings.Index(obj[0], "(size"):] + "\n" + backtraceOf(obj)
		if count[key]++; count[key] == 1 {
			order = append(order, key)
			first[key] = obj
		}
	}
	for _, key := range order {
		for _, line := range first[key] {
			print(line)
		}
		if n := count[key] - 1; n > 0 {
			print(fmt.Sprintf("cnvmtest: kmemleak: %d more unreferenced objects with the same size and backtrace", n))
		}
	}
}

// leakObjects splits kmemleak's list into objects, each its lines from
// "unreferenced object" on (mm/kmemleak.c print_unreferenced).
func leakObjects(list string) [][]string {
	var objs [][]string
	for _, line := range strings.Split(strings.TrimRight(list, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "unreferenced object"):
			objs = append(objs, []string{line})
		case len(objs) > 0 && line != "":
			objs[len(objs)-1] = append(objs[len(objs)-1], line)
		}
	}
	return objs
}

// backtraceOf returns the lines of an object's backtrace.
func backtraceOf(obj []string) string {
	for i, line := range obj {
		if strings.Contains(line, "backtrace") {
			return strings.Join(obj[i+1:], "\n")
		}
	}
	return ""
}

// runProgram runs the program with args, streaming its output but the
// lines drop rejects (nil: none), and says it started (EvStart) unless
// cfg's mode runs it more than once (runPerTest says so itself).
func runProgram(out *port, cfg guest.Config, args []string, drop func([]byte) bool) (int, time.Duration, error) {
	cmd := exec.Command(cfg.Program, args...)
	cmd.Dir = programDir
	if cfg.Dir != "" {
		if err := mountWorkDir(cfg.Dir); err != nil {
			return 0, 0, err
		}
		cmd.Dir = cfg.Dir
	}
	for _, d := range cfg.Dirs {
		if err := os.MkdirAll(d, 0o777); err != nil {
			return 0, 0, err
		}
	}
	cmd.Env = programEnv(cfg)
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	kmsg("cnvmtest: program start: " + cfg.Program)
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return 0, 0, fmt.Errorf("starting %s: %w", cfg.Program, err)
	}
	if cfg.Gcov != guest.GcovPerTest {
		out.record(guest.Record{Event: guest.EvStart})
	}
	pw.Close()
	t := &tracker{out: out, before: map[string]uint64{}, progress: time.Now()}
	stop := make(chan struct{})
	go t.watch(cmd.Process, cfg, stop)
	copyLines(out, pr, t.line, drop)
	err = cmd.Wait()
	close(stop)
	elapsed := time.Since(start)
	kmsg("cnvmtest: program exit: " + cfg.Program)
	return exitStatus(err), elapsed, nil
}

// realtime puts the runner's threads in the SCHED_FIFO class (threads the
// Go runtime starts later inherit it; the programs it starts do not). A
// test binary's "=== RUN" line then wakes the runner before the test can go
// on, so the begin marker reaches the kernel log before anything the test
// makes the kernel print: with one vCPU a test used to run ahead of its own
// marker, and its kernel report was blamed on no test.
func realtime() {
	attr := unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   unix.SCHED_FIFO,
		Flags:    unix.SCHED_FLAG_RESET_ON_FORK,
		Priority: 1,
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if tid, err := strconv.Atoi(task.Name()); err == nil {
			unix.SchedSetAttr(tid, &attr, 0)
		}
	}
}

// programDir is the program's working directory unless the
// configuration names one; tests replace it.
var programDir = "/" + guest.Dir

// consoleTTY is the kernel console (console=ttyS0, ttyAMA0 on arm64).
var consoleTTY = guest.ConsoleFor(runtime.GOARCH)

// programEnv tells the program it runs in a cnvmtest guest and which
// module the runner loaded.
func programEnv(cfg guest.Config) []string {
	return append(append(os.Environ(), cfg.Env...), guest.EnvGuest+"=1",
		guest.EnvModule+"="+cfg.Module, guest.EnvModuleParams+"="+cfg.Params)
}

// runShell gives the console to an interactive shell with the module
// loaded; the guest powers off when the shell exits.
func runShell(out *port, cfg guest.Config) error {
	fmt.Printf("cnvmtest: module %s loaded; this is u-root's shell (gosh). Type exit to power off.\n", filepath.Base(cfg.Module))
	cmd := exec.Command(cfg.Program, cfg.Args...)
	cmd.Dir = programDir
	cmd.Env = programEnv(cfg)
	// u-root's init hands uinit a pipe for output; a shell needs the
	// console itself as its terminal.
	tty, err := os.OpenFile(consoleTTY, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("opening the console for the shell: %w", err)
	}
	defer tty.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out.record(guest.Record{Event: guest.EvStart})
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(tty, "cnvmtest: starting the shell %s: %v\n", cfg.Program, err)
	}
	out.record(guest.Record{Event: guest.EvExit, Status: exitStatus(err)})
	return nil
}

// copyLines forwards the program's output line by line until it closes,
// showing each line to see first; lines drop rejects are not forwarded.
func copyLines(out *port, r io.Reader, see func([]byte), drop func([]byte) bool) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			see(line)
			if drop == nil || !drop(line) {
				out.write(line)
			}
		}
		if err != nil {
			return
		}
	}
}

// tracker follows the test binary's test2json framing lines ("\x16=== RUN",
// "\x16--- PASS: …") to mark each test's start and end in the kernel log,
// to report the kernel taint around each test, and to notice when tests
// stop making progress.
type tracker struct {
	out *port

	mu       sync.Mutex
	before   map[string]uint64
	running  []string
	progress time.Time
}

func (t *tracker) line(b []byte) {
	if len(b) == 0 {
		return
	}
	if b[0] != 0x16 {
		// A passing benchmark's only sign of its end is its result
		// line; the host's recorder reads the same rule.
		for _, r := range t.runningBenchmarks() {
			if gotest.IsBenchResult(string(b), r) {
				t.end(r)
			}
		}
		return
	}
	s := strings.TrimRight(string(b[1:]), "\r\n")
	if name, ok := strings.CutPrefix(s, "=== RUN   "); ok {
		if gotest.IsBenchmark(name) {
			// Benchmarks run one at a time: one starting ends every
			// running benchmark but its parents, which print no result
			// line of their own when they have sub-benchmarks.
			for _, r := range t.runningBenchmarks() {
				if !strings.HasPrefix(name, r+"/") {
					t.end(r)
				}
			}
		}
		kmsg(guest.KmsgBegin + name)
		t.mu.Lock()
		t.before[name] = taint()
		t.running = append(t.running, name)
		t.progress = time.Now()
		t.mu.Unlock()
		return
	}
	for _, verdict := range []string{"--- PASS: ", "--- FAIL: ", "--- SKIP: "} {
		rest, ok := strings.CutPrefix(s, verdict)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " (")
		t.end(name)
		return
	}
}

// end marks the end of test name in the kernel log and reports its taint,
// once: a name that is not running is ignored.
func (t *tracker) end(name string) {
	t.mu.Lock()
	before, ok := t.before[name]
	if !ok {
		t.mu.Unlock()
		return
	}
	delete(t.before, name)
	for i := len(t.running) - 1; i >= 0; i-- {
		if t.running[i] == name {
			t.running = append(t.running[:i], t.running[i+1:]...)
			break
		}
	}
	t.progress = time.Now()
	t.mu.Unlock()
	kmsg(guest.KmsgEnd + name)
	t.out.record(guest.Record{Event: guest.EvTest, Test: name, TaintBefore: before, Taint: taint()})
}

func (t *tracker) runningBenchmarks() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var bs []string
	for _, r := range t.running {
		if gotest.IsBenchmark(r) {
			bs = append(bs, r)
		}
	}
	return bs
}

// watch stops the program when the run's deadline passes or, while tests
// run, when no test has started or ended for cfg.Stall.
func (t *tracker) watch(p *os.Process, cfg guest.Config, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		test := ""
		if len(t.running) > 0 {
			test = t.running[len(t.running)-1]
		}
		stalled := cfg.Stall > 0 && test != "" && time.Since(t.progress) > cfg.Stall
		t.mu.Unlock()
		var why string
		switch {
		case cfg.Deadline > 0 && uptime() > cfg.Deadline:
			why = fmt.Sprintf("the run reached its deadline (%s)", cfg.Deadline)
		case stalled:
			why = fmt.Sprintf("no test started or ended for %s", cfg.Stall)
		default:
			continue
		}
		t.out.record(guest.Record{Event: guest.EvHang, Test: test, Error: why})
		forensics(p)
		return
	}
}

// forensics dumps what the kernel and the test binary are doing, then
// stops the program: the kernel's task list and blocked tasks and every
// CPU's backtrace go to the console; SIGQUIT makes a Go test binary print
// all its goroutines on the result port.
func forensics(p *os.Process) {
	kmsg("cnvmtest: hang forensics")
	for _, key := range []string{"w", "l", "t"} {
		os.WriteFile("/proc/sysrq-trigger", []byte(key), 0)
	}
	p.Signal(syscall.SIGQUIT)
	// Give the dump time to reach the port before killing.
	time.Sleep(5 * time.Second)
	p.Kill()
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 127
}

// loadPortModules loads the result port's modules in dir (see
// guest.PortModulesDir); a missing dir means there are none.
func loadPortModules(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := loadModule(filepath.Join(dir, e.Name()), ""); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("result port: %w", err)
		}
	}
	return nil
}

func loadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("loading module: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), params, 0); err != nil {
		return fmt.Errorf("loading module %s (params %q): finit_module: %w", filepath.Base(path), params, err)
	}
	return nil
}

// unloadSettle is how long the runner sleeps before it unloads the
// module, so that no thread of its own is runnable when the module's exit
// starts its RCU Tasks grace period (kmod/cn_common.h). Any task on a run
// queue when the grace period scans the task list is a holdout, and the
// first check of the holdouts comes HZ/10 later (rcu_tasks_wait_gp,
// kernel/rcu/tasks.h): 100 ms on Debian's HZ=250 kernels. The runner's
// own threads were such tasks: when a goroutine blocks in a system call,
// Go's sysmon hands its P to a new spinning M within about 20 µs
// (runtime retake, handoffp), and that M is runnable until it finds no
// work and parks. After the test program's end the runner's writes and
// waits keep that going; 10 ms asleep lets it stop. Measured with
// -run '^TestEchoHappyPath$' on debian:6.1 under TCG, 6 runs each: the
// unload took 147-157 ms after a 2 ms sleep, 44-155 ms after 5 ms, and
// 45-49 ms after 10 ms.
const unloadSettle = 10 * time.Millisecond

func unloadModule(path string) error {
	name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(path), ".ko"), "-", "_")
	// A raw nanosleep: the thread sleeps in the kernel and the runtime
	// runs nothing meanwhile.
	unix.Nanosleep(&unix.Timespec{Nsec: unloadSettle.Nanoseconds()}, nil)
	if err := unix.DeleteModule(name, unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("unloading module %s: delete_module: %w", name, err)
	}
	return nil
}

// uptime is the time since the kernel started, close to the time since
// QEMU started, which is what the host's timeout counts.
func uptime() time.Duration {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	secs, _ := strconv.ParseFloat(f, 64)
	return time.Duration(secs * float64(time.Second))
}

func taint() uint64 {
	v, _ := guest.ReadTaint()
	return v
}

// kmsg writes a marker into the kernel log, so the host can place kernel
// messages relative to the program's run. Tests replace it.
var kmsg = writeKmsg

func writeKmsg(s string) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%s\n", s)
	f.Close()
}

// openPort opens the result port in raw mode: no newline translation, no
// echo, so the program's bytes reach the host unchanged.
func openPort(name, modules string) (*os.File, error) {
	if err := loadPortModules(modules); err != nil {
		return nil, err
	}
	f, err := openWhenReady(func() (*os.File, error) { return os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0) }, time.Sleep)
	if err != nil {
		return nil, fmt.Errorf("opening result port: %w", err)
	}
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if errors.Is(err, unix.ENOTTY) {
		return f, nil // a virtio port: no line discipline to make raw
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("result port %s: %w", name, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t); err != nil {
		f.Close()
		return nil, fmt.Errorf("result port %s: %w", name, err)
	}
	return f, nil
}

// openWhenReady opens the result port with open, sleeping and trying
// again for about 10 s while the port is not ready. A virtio serial port
// appears when the host's control message adding it arrives, after the
// driver's probe: until then its device node does not exist. And the
// node comes before the port can be opened: add_port creates the device
// (device_create), fills the port's receive queue and only then lists the
// port, and an open in between finds no port and fails with ENXIO
// (drivers/char/virtio_console.c, 6.1 and 6.12: add_port,
// port_fops_open), which a loaded TCG guest hits.
func openWhenReady(open func() (*os.File, error), sleep func(time.Duration)) (*os.File, error) {
	f, err := open()
	for wait := 10 * time.Millisecond; (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENXIO)) && wait < 10*time.Second; wait *= 2 {
		sleep(wait)
		f, err = open()
	}
	return f, err
}

// powerOff ends the guest. QEMU runs with -no-reboot, so a restart ends it
// too when the kernel has no ACPI power-off.
func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

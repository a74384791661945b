// SPDX-License-Identifier: MIT

// Package guest defines what the host and the guest runner say to each
// other: the run configuration the host puts into the overlay, and the
// control records the runner writes to the result port among the test
// binary's own output.
package guest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Paths inside the guest.
const (
	ConfigPath = "cnvm/run.json"
	Dir        = "cnvm"
	// ResultPort is the second serial port of an amd64 guest. The kernel
	// console stays on the first, so kernel messages never mix with
	// results. See ResultPortFor.
	ResultPort = "/dev/ttyS1"
)

// ResultPortFor is the result port of a guest of the Go architecture
// goarch: on arm64 (QEMU's virt board, whose only UART, ttyAMA0, is the
// console) the PCI 16550 that harness/vm adds, the guest's only 8250 port;
// on s390x the first port of the virtio serial device that harness/vm
// adds, once the modules in PortModulesDir are loaded.
func ResultPortFor(goarch string) string {
	switch goarch {
	case "arm64":
		return "/dev/ttyS0"
	case "s390x":
		return "/dev/vport0p1"
	}
	return ResultPort
}

// ConsoleFor is the kernel console of a guest of the Go architecture
// goarch (console= on the kernel command line that harness/vm writes).
func ConsoleFor(goarch string) string {
	switch goarch {
	case "arm64":
		return "/dev/ttyAMA0"
	case "s390x":
		return "/dev/ttysclp0"
	}
	return "/dev/ttyS0"
}

// PortModulesDir holds the modules that drive the result port when the
// kernel does not build its driver in (s390x's virtio_console): the
// runner loads every .ko there, in the order of their names, before it
// opens the port.
const PortModulesDir = "cnvm/port"

// KmsgBegin and KmsgEnd start the kernel log lines the runner writes around
// each test ("cnvmtest: begin TestX"), so that the host can tell which test
// was running when the kernel printed a report.
const (
	KmsgBegin = "cnvmtest: begin "
	KmsgEnd   = "cnvmtest: end "
)

// EnvGuest is set to 1 in the environment of the guest's tests; they refuse
// to run without it.
const EnvGuest = "CNVMTEST_GUEST"

// EnvModule and EnvModuleParams tell the guest's tests which module file
// the runner loaded and with which parameters, so that a test can unload
// and reload it (the unload cases of docs/connector.md §4).
const (
	EnvModule       = "CNVMTEST_MODULE"
	EnvModuleParams = "CNVMTEST_MODULE_PARAMS"
)

// Config tells the runner what to do. The host writes it to ConfigPath.
type Config struct {
	// Module is the .ko to load with finit_module, with Params.
	Module string `json:"module,omitempty"`
	Params string `json:"params,omitempty"`
	// Program and Args run with the module loaded: the test binary with
	// -test.v=test2json, or any static program for `cnvmtest exec`.
	Program string   `json:"program"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	// Dir is the program's working directory; default /cnvm. Dirs are
	// directories the runner creates before it starts the program.
	Dir  string   `json:"dir,omitempty"`
	Dirs []string `json:"dirs,omitempty"`
	// CoverDir is where the program writes Go coverage data (GOCOVERDIR,
	// -test.gocoverdir); the runner sends its files, and the files of
	// Collect, to the host after the program exits (EvFile).
	CoverDir string   `json:"cover_dir,omitempty"`
	Collect  []string `json:"collect,omitempty"`
	// Shell runs Program on the console with the console as its terminal,
	// for a person to type at, instead of streaming its output.
	Shell bool `json:"shell,omitempty"`
	// Gcov has the runner send the kernel's gcov counters (every .gcda
	// file under GcovDir) to the host, in EvGcov records, on a kernel
	// built with CONFIG_GCOV_KERNEL: GcovRun once, after the module's
	// unload; GcovPerTest once per top-level test as well, running
	// Program once per test with the counters reset before each. "" sends
	// none.
	Gcov string `json:"gcov,omitempty"`
	// Unload removes the module after Program exits; a failure to unload
	// (a leaked reference) is reported.
	Unload bool `json:"unload,omitempty"`
	// Deadline, counted in guest uptime (about the time since QEMU
	// started), is when the runner gives up on the program: it collects hang forensics and stops it, before
	// the host kills the guest.
	Deadline time.Duration `json:"deadline,omitempty"`
	// Stall is how long the tests may go without a test starting or
	// ending before the runner treats them as hung; 0 disables it.
	Stall time.Duration `json:"stall,omitempty"`
}

// Gcov modes (Config.Gcov).
const (
	GcovRun     = "run"
	GcovPerTest = "per-test"
)

// GcovDir is where the kernel shows its gcov counters: a tree mirroring the
// build's object paths, one .gcda file per profiled object, and a reset
// file that zeroes them all when written (kernel/gcov/fs.c).
const GcovDir = "/sys/kernel/debug/gcov"

// Labels of EvGcov records (Record.Test) that are no test: the counters
// before the first test (the boot and the module's load), and those the
// module's unload adds after the last. Per-test records carry the test's
// name; a GcovRun run's single set carries GcovAll.
const (
	GcovSetup  = "(setup)"
	GcovUnload = "(unload)"
	GcovAll    = "(all)"
)

// WorkDirStage is where the initramfs holds the working directory of an
// exec'd program (Config.Dir) until the runner mounts it at its path:
// WorkDirStage + Dir.
const WorkDirStage = Dir + "/workdir"

// KnownBugPrefix starts the line a guest test logs when it observes a
// known kernel bug that its expectations name ("known kernel bug present:
// ID: what was seen"): the test passes, and the host lists the bug in the
// run's summary, JSON events and JUnit properties.
const KnownBugPrefix = "known kernel bug present: "

// KnownBugExpectPrefix starts the line a guest test logs before it
// triggers a known kernel bug that shows as a kernel report ("known kernel
// bug expected: ID: FUNCTION"): a report during that test with FUNCTION in
// its call trace is then that bug, listed like KnownBugPrefix's, not a
// failure.
const KnownBugExpectPrefix = "known kernel bug expected: "

// RunnerProtocol numbers what the runner and the host say to each other:
// it changes when the records or the configuration change in a way an
// older runner would not follow.
const RunnerProtocol = 1

// RunnerInside returns the words that every program linking the runner's
// AsInit holds (package runner writes them out in full): a test binary
// that holds them can boot as the guest's /init and be its own runner.
// They are put together at run time, so that a program merely looking
// for them (the harness) does not hold them itself.
func RunnerInside() string {
	return "cnvmtest: this program is also the guest runner, protocol " + strconv.Itoa(RunnerProtocol)
}

// Marker starts every control record. The record separator byte cannot
// start a line of test2json output, so a record is never confused with
// what the test binary prints.
var Marker = []byte("\x1ecnvmtest ")

// Record is one control record, written on a line of its own.
type Record struct {
	// Event is one of the Ev constants.
	Event string `json:"event"`
	// Kernel is the guest's `uname -r`, with EvBoot.
	Kernel string `json:"kernel,omitempty"`
	// Taint is /proc/sys/kernel/tainted.
	Taint uint64 `json:"taint"`
	// Status is the program's exit status, with EvExit.
	Status int `json:"status"`
	// Error says what failed, with EvModule, EvUnload and EvError.
	Error string `json:"error,omitempty"`
	// Elapsed is the time the step took.
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// Test and TaintBefore come with EvTest: the taint when the test
	// started; Taint is the taint when it ended.
	Test        string `json:"test,omitempty"`
	TaintBefore uint64 `json:"taint_before,omitempty"`
	// Name and Data are a file of the program's, with EvFile: its path
	// in the guest and its content. With EvGcov they are a .gcda file,
	// Name relative to GcovDir, and Test says what its counts cover.
	Name string `json:"name,omitempty"`
	Data []byte `json:"data,omitempty"`
}

// Events, in the order the runner sends them.
const (
	EvBoot   = "boot"   // runner started
	EvModule = "module" // module loaded (Error empty) or not
	EvStart  = "start"  // program started
	EvTest   = "test"   // a test ended: its taint before and after
	EvHang   = "hang"   // program stopped as hung (Test, Error say why)
	EvExit   = "exit"   // program exited with Status
	EvFile   = "file"   // a coverage file of the program's (Name, Data)
	EvGcov   = "gcov"   // a kernel gcov counter file (Name, Data, Test)
	EvUnload = "unload" // module unloaded (Error empty) or not
	EvDone   = "done"   // runner finished; the guest powers off next
	EvError  = "error"  // the runner itself failed
)

// Encode returns r as a control line, newline included.
func (r Record) Encode() []byte {
	b, _ := json.Marshal(r)
	return append(append(append([]byte{}, Marker...), b...), '\n')
}

// Decode parses line as a control record. ok is false for any other line.
func Decode(line []byte) (r Record, ok bool) {
	rest, found := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), Marker)
	if !found {
		return Record{}, false
	}
	if err := json.Unmarshal(rest, &r); err != nil {
		return Record{}, false
	}
	return r, true
}

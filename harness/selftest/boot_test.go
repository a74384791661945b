// SPDX-License-Identifier: MIT

package selftest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// --- Known kernel bugs, as the suite meets them ---

// t34Kernels are the kernels T34 runs on: the unload oops is the same on
// both (drivers/connector/connector.c cn_rx_skb calls the callback with no
// reference on its module, on 6.1 as on 6.12).
var t34Kernels = []string{"debian:6.1", "debian:6.12"}

// t34Specs are t34Kernels and the arm64 and s390x kernels of
// CNVMTEST_KERNEL: the same bug there, other words for the fault.
func t34Specs() []string {
	ks := slices.Clone(t34Kernels)
	for _, k := range kernels() {
		if a := archOf(k); (a == "arm64" || a == "s390x") && !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// T34 of vmtests in a boot of its own, as a user runs it: cn_echo with
// nowait=1 unloads during a slow callback, which returns into freed module
// text and oopses with cn_rx_skb in the trace. The test says it expects
// that (known kernel bug cn-unload-oops), so the run passes and lists the
// bug, and the console shows the oops.
func TestT34UnloadOops(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	for _, k := range t34Specs() {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			root := repoRoot(t)
			o := boot(t, t.Context(), config{
				kmod: filepath.Join(root, "kmod"), testsPkg: "./vmtests", kernel: k,
				params: "nowait=1", env: []string{"CNVMTEST_T34=1"},
				run: "^TestT34UnsafeUnloadOops$",
			})
			o.wantOutcome(t, report.Pass)
			o.wantTest(t, "TestT34UnsafeUnloadOops", report.Pass)
			o.wantKnownBug(t, "cn-unload-oops", "TestT34UnsafeUnloadOops")
			b, err := os.ReadFile(o.result(t).ConsoleLog)
			if err != nil {
				t.Fatalf("console log: %v", err)
			}
			console := string(b)
			wantContains(t, "the console log", console, "Oops", "cn_rx_skb")
			// arm64: an instruction abort, which arch/arm64/mm/fault.c
			// (die_kernel_fault) calls a paging request.
			faults := []string{"BUG: unable to handle page fault", "general protection fault", "Unable to handle kernel paging request"}
			if archOf(k) == "s390x" {
				// A translation exception at a kernel address, which
				// arch/s390/mm/fault.c (do_no_context) calls a pointer
				// dereference.
				faults = []string{"Unable to handle kernel pointer dereference in virtual kernel address space"}
			}
			if !slices.ContainsFunc(faults, func(f string) bool { return strings.Contains(console, f) }) {
				t.Errorf("the console log shows no fault in the freed module text (none of %q):\n%s", faults, indent(console))
			}
		})
	}
}

// vmtests' TestProcListenUnboundLeak on the debug kernel: the LISTENs from
// a socket outside group 1 leak their sk_user_data (drivers/connector/
// cn_proc.c cn_proc_mcast_ctl, 6.6 and later), kmemleak finds them in the
// runner's scan after the module's unload, and the harness lists the
// report as the known bug cn-proc-skdata-leak of the run instead of
// failing it.
func TestSkdataLeak(t *testing.T) {
	requireSelftest(t)
	k := os.Getenv("CNVMTEST_DEBUG_KERNEL")
	if os.Getenv("CNVMTEST_DEBUG") != "1" || k == "" {
		t.Skip("needs the debug kernel (kmemleak): make selftest-debug")
	}
	t.Parallel()
	root := repoRoot(t)
	o := boot(t, t.Context(), config{
		kmod: filepath.Join(root, "kmod"), testsPkg: "./vmtests", kernel: k,
		run: "^TestProcListenUnboundLeak$", timeout: 10 * time.Minute,
	})
	o.wantOutcome(t, report.Pass)
	o.wantTest(t, "TestProcListenUnboundLeak", report.Pass)
	o.wantKnownBug(t, "cn-proc-skdata-leak", "the run")
	b, err := os.ReadFile(o.result(t).ConsoleLog)
	if err != nil {
		t.Fatalf("console log: %v", err)
	}
	wantContains(t, "the console log", string(b), "unreferenced object", "cn_proc_mcast_ctl")
}

// wantKnownBug checks that the run's summary lists the known bug id as
// seen by test.
func (o *outcome) wantKnownBug(t *testing.T, id, test string) {
	t.Helper()
	bugs := o.result(t).Summary.KnownBugs
	if !slices.ContainsFunc(bugs, func(b report.KnownBug) bool { return b.ID == id && b.Test == test }) {
		t.Errorf("the run's known bugs %+v lack %s seen by %s", bugs, id, test)
	}
}

// --- Guests that cannot boot ---

// An image QEMU cannot load: the real vmlinux, next to its real build tree
// (so that the module builds), with its largest loadable segment's program
// header claiming a megabyte more than the file holds, which is what QEMU
// sees of a vmlinux cut short. The path: source accepts it (the ELF notes,
// PVH entry included, are intact); QEMU fails to load the segment and
// exits before the guest starts: BOOT_FAIL, not a hang until the timeout.
func TestBootFailImage(t *testing.T) {
	requireSelftest(t)
	t.Parallel()
	store, err := kernel.DefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := kernel.ParseSpec(kernels()[0])
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.Get(t.Context(), spec, nil)
	if err != nil {
		t.Fatalf("kernel %s: %v", kernels()[0], err)
	}
	if k.Vmlinux == "" {
		t.Skipf("kernel %s has no vmlinux", kernels()[0])
	}
	b, err := os.ReadFile(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	what := overlongSegment(t, b)
	image := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(image, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", k.Vmlinux, what)
	o := boot(t, t.Context(), config{run: "^TestBefore$", kernel: "path:" + image + "," + k.BuildDir, timeout: stopTimeout})
	o.wantOutcome(t, report.BootFail)
	if o.wall > stopTimeout/2 {
		t.Errorf("the run took %s: the harness waited for a guest that never started", o.wall.Round(time.Second))
	}
	if o.hasEvent("run", "TestBefore") {
		t.Error("TestBefore ran in a guest that could not boot")
	}
	if c, ok := o.junitCase(report.RunCaseName); !ok || c.outcome() != report.BootFail {
		t.Errorf("JUnit report lacks a %s case of type %s", report.RunCaseName, report.BootFail)
	}
	// QEMU's own error goes to the console log (its output is the serial
	// port's): the user must find why nothing booted there.
	if c, err := os.ReadFile(o.result(t).ConsoleLog); err != nil {
		t.Errorf("console log: %v", err)
	} else {
		wantContains(t, "the console log", string(c), "Error while loading elf kernel")
	}
}

// overlongSegment makes the largest PT_LOAD segment of the ELF64 image b
// run a megabyte past the end of b (its file and memory sizes), in place,
// and says what it did.
func overlongSegment(t *testing.T, b []byte) string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("vmlinux: %v", err)
	}
	if f.Class != elf.ELFCLASS64 {
		t.Fatalf("vmlinux: %s, want ELFCLASS64", f.Class)
	}
	best := -1
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD && (best < 0 || p.Filesz > f.Progs[best].Filesz) {
			best = i
		}
	}
	if best < 0 {
		t.Fatal("vmlinux: no PT_LOAD segment")
	}
	p := f.Progs[best]
	size := uint64(len(b)) - p.Off + 1<<20
	// Elf64_Ehdr: e_phoff at 32, e_phentsize at 54; Elf64_Phdr: p_filesz
	// at 32, p_memsz at 40 (include/uapi/linux/elf.h).
	bo := f.ByteOrder
	ph := bo.Uint64(b[32:]) + uint64(best)*uint64(bo.Uint16(b[54:]))
	bo.PutUint64(b[ph+32:], size)
	bo.PutUint64(b[ph+40:], size)
	return fmt.Sprintf("segment %d at file offset %#x: %#x bytes in the file, %#x in the file claimed", best, p.Off, p.Filesz, size)
}

// An initramfs the kernel cannot unpack: the harness builds the
// initramfs itself and has no option to replace it, so a QEMU wrapper
// (VMTEST_QEMU) hands QEMU a copy whose cpio headers are overwritten. The
// kernel says so ("Initramfs unpacking failed", init/initramfs.c
// unpack_to_rootfs), finds no init and panics trying to mount a root
// file system it was not given (init/do_mounts.c mount_root_generic):
// the guest never reaches the runner: BOOT_FAIL, with the panic in the
// reason (bootPanicOutcome), and no test ran. Not
// parallel: VMTEST_QEMU is process-wide.
func TestBootFailInitramfs(t *testing.T) {
	requireSelftest(t)
	real, err := exec.LookPath(envOr("VMTEST_QEMU", defaultQEMU(t)))
	if err != nil {
		t.Fatalf("QEMU: %v", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("the QEMU wrapper needs bash: %v", err)
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "qemu-bad-initrd")
	script := fmt.Sprintf(`#!/bin/bash
# Runs QEMU with a copy of its -initrd whose first 4 KiB are garbage.
args=()
while (($#)); do
	if [[ $1 == -initrd ]]; then
		cp -- "$2" %[2]q
		head -c 4096 /dev/urandom | dd of=%[2]q conv=notrunc status=none
		args+=("$1" %[2]q)
		shift 2
		continue
	fi
	args+=("$1")
	shift
done
exec %[1]q "${args[@]}"
`, real, filepath.Join(dir, "bad-initrd.cpio"))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VMTEST_QEMU", wrapper)

	o := boot(t, t.Context(), config{run: "^TestBefore$", timeout: stopTimeout})
	res := o.result(t)
	b, err := os.ReadFile(res.ConsoleLog)
	if err != nil {
		t.Fatalf("console log: %v", err)
	}
	wantContains(t, "the console log", string(b), "Initramfs unpacking failed")
	o.wantOutcome(t, bootPanicOutcome)
	wantContains(t, "the run's reason", res.Reason, "Unable to mount root fs")
	o.wantSummary(t, 0, 0, 0)
	if o.hasEvent("run", "TestBefore") {
		t.Error("TestBefore ran in a guest that could not boot")
	}
	if o.wall > stopTimeout/2 {
		t.Errorf("the run took %s: the harness waited for a guest that had died", o.wall.Round(time.Second))
	}
}

// bootPanicOutcome is the outcome of a guest whose kernel panics before
// the runner starts: BOOT_FAIL (harness/run.go judge), since the kernel
// never ran the guest.
const bootPanicOutcome = report.BootFail

// SPDX-License-Identifier: MIT

package klog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readSample(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// found is the part of a Report the sample tests pin down.
type found struct {
	Kind        Kind
	Title       string
	Fingerprint string
	Start, End  int
	Truncated   bool
}

func summarize(reports []Report) []found {
	var fs []found
	for _, r := range reports {
		fs = append(fs, found{r.Kind, r.Title, r.Fingerprint, r.StartLine, r.EndLine, r.Truncated})
	}
	return fs
}

// The samples in testdata are written in the formats the kernel prints:
// 6.12 unless the name says otherwise, and 5.10 without <TASK> markers.
// Those whose first line starts with "# Real console" are real consoles
// of the kernel named there; those starting "# WRITTEN" were written from
// the kernel source the comment cites, as no such kernel boots here.
var samples = []struct {
	file string
	want []found
}{
	{
		// docs/connector.md §4: rmmod while a callback runs, then the CPU
		// returns into freed module text; panic_on_oops follows.
		file: "oops-freed-text.log",
		want: []found{
			{Oops, "BUG: unable to handle page fault for address: ffffffffa00001c1",
				"OOPS|cn_rx_skb|netlink_unicast|netlink_sendmsg", 6, 41, false},
			{Panic, "Kernel panic - not syncing: Fatal exception",
				"PANIC|Kernel panic - not syncing: Fatal exception", 47, 48, false},
		},
	},
	{
		file: "warning.log",
		want: []found{{Warning, "WARNING: at /work/kmod/cn_echo.c:142 cn_echo_exit+0x5a/0x70 [cn_echo]",
			"WARNING|cn_echo_exit|__do_sys_delete_module", 2, 42, false}},
	},
	{
		file: "kasan-uaf.log",
		want: []found{{KASAN, "BUG: KASAN: slab-use-after-free in cn_echo_callback+0x3c/0x120 [cn_echo]",
			"KASAN|cn_echo_callback|cn_rx_skb|netlink_unicast", 2, 72, false}},
	},
	{
		file: "kfence.log",
		want: []found{{KFENCE, "BUG: KFENCE: use-after-free read in cn_echo_callback+0x3c/0x120 [cn_echo]",
			"KFENCE|cn_echo_callback|cn_rx_skb|netlink_unicast", 1, 24, false}},
	},
	{
		file: "ubsan-5.10.log",
		want: []found{{UBSAN, "UBSAN: shift-out-of-bounds in /work/kmod/cn_echo.c:97:19",
			"UBSAN|cn_echo_callback|cn_rx_skb|netlink_unicast", 1, 21, false}},
	},
	{
		// With printk caller ids; the report ends after its stack.
		file: "lockdep-circular.log",
		want: []found{{Lockdep, "WARNING: possible circular locking dependency detected",
			"LOCKDEP|cn_echo_callback|cn_rx_skb|netlink_unicast", 2, 80, false}},
	},
	{
		// The frame after "Preemption disabled at:" is not the trace.
		file: "sleep-in-atomic-6.1.log",
		want: []found{{Lockdep, "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580",
			"LOCKDEP|cn_echo_reply|cn_echo_callback|cn_rx_skb", 2, 28, false}},
	},
	{
		// No <TASK>: the stack ends at the first line that cannot be in one.
		file: "hung-task-5.10.log",
		want: []found{{HungTask, "INFO: task vmtests.test:161 blocked for more than 120 seconds.",
			"HUNG_TASK|cn_echo_callback|cn_rx_skb|netlink_unicast", 2, 28, false}},
	},
	{
		file: "hung-task-panic.log",
		want: []found{
			{HungTask, "INFO: task vmtests.test:161 blocked for more than 122 seconds.",
				"HUNG_TASK|cn_echo_flush|cn_echo_callback|cn_rx_skb", 1, 23, false},
			{Panic, "Kernel panic - not syncing: hung_task: blocked tasks",
				"PANIC|Kernel panic - not syncing: hung_task: blocked tasks", 24, 40, false},
		},
	},
	{
		file: "soft-lockup.log",
		want: []found{{SoftLockup, "watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [vmtests.test:161]",
			"SOFT_LOCKUP|cn_echo_spin|cn_echo_callback|cn_rx_skb", 2, 41, false}},
	},
	{
		file: "rcu-stall.log",
		want: []found{{RCUStall, "rcu: INFO: rcu_preempt self-detected stall on CPU",
			"RCU_STALL|cn_echo_spin|cn_echo_callback|cn_rx_skb", 1, 37, false}},
	},
	{
		// 5.10 prints no <TASK>: the interrupted task's RIP line and
		// register dump come after </IRQ>, then the rest of its stack
		// (arch/x86/kernel/dumpstack.c, show_trace_log_lvl). The RIP is
		// where the CPU stalled.
		file: "rcu-stall-5.10.log",
		want: []found{{RCUStall, "rcu: INFO: rcu_sched self-detected stall on CPU",
			"RCU_STALL|cn_fault_spin|cn_fault_rcu_stall|cn_rx_skb", 3, 55, false}},
	},
	{
		// /sys/kernel/debug/kmemleak: a 6.12 record and a 5.10 one.
		file: "kmemleak.txt",
		want: []found{
			{Kmemleak, "unreferenced object 0xffff888005f1c2a0 (size 64):",
				"KMEMLEAK|cn_echo_callback|cn_rx_skb|netlink_unicast", 1, 15, false},
			{Kmemleak, "unreferenced object 0xffff888003d41e00 (size 128):",
				"KMEMLEAK|cn_echo_work", 16, 27, false},
		},
	},
	{
		// kmemleak.verbose=1: the summary after an object adds nothing;
		// a summary alone is all there is to report.
		file: "kmemleak-console.log",
		want: []found{
			{Kmemleak, "unreferenced object 0xffff888005f1c2a0 (size 64):",
				"KMEMLEAK|cn_echo_callback|cn_rx_skb|netlink_unicast", 2, 11, false},
			{Kmemleak, "2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
				"KMEMLEAK|N new suspected memory leaks (see /sys/kernel/debug/kmemleak)", 13, 13, false},
		},
	},
	{
		file: "refcount.log",
		want: []found{{Refcount, "refcount_t: underflow; use-after-free.",
			"REFCOUNT|cn_queue_release_callback|cn_del_callback|cn_echo_exit", 1, 31, false}},
	},
	{
		// __warn's banner up to 6.12, and the oops of the same run.
		file: "warn-6.1.log",
		want: []found{{Warning, "WARNING: at /root/.cache/cnvmtest/modules/444c0c9839be106ce1a4.build/cn_fault.c:130 cn_fault_warn+0x18/0x20 [cn_fault]",
			"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 56, false}},
	},
	{
		// 5.10 prints <TASK> markers too (Debian's 5.10.262).
		file: "warn-oops-5.10.log",
		want: []found{
			{Warning, "WARNING: at /root/.cache/cnvmtest/modules/a6a89a30deb042793ee1.build/cn_fault.c:130 cn_fault_warn+0x18/0x20 [cn_fault]",
				"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 39, false},
			{Oops, "BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 43, 81, false},
		},
	},
	{
		file: "warn-oops-6.12.log",
		want: []found{
			{Warning, "WARNING: at /root/.cache/cnvmtest/modules/ddebee866937af6b8203.build/cn_fault.c:130 cn_fault_warn+0x46/0x70 [cn_fault]",
				"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 54, false},
			{Oops, "BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 58, 106, false},
		},
	},
	{
		// arm64 (6.1): __warn's banner with pc/lr and x registers
		// (arch/arm64/kernel/process.c: __show_regs) and a "Call trace:"
		// (arch/arm64/kernel/stacktrace.c: dump_backtrace); the NULL
		// dereference as arch/arm64/mm/fault.c: die_kernel_fault prints
		// it ("Unable to handle kernel NULL pointer dereference"), its
		// "Mem abort info", then die()'s "Internal error: Oops: ... [#1]"
		// (arch/arm64/kernel/traps.c). The same fingerprints as amd64's.
		file: "warn-oops-6.1-arm64.log",
		want: []found{
			{Warning, "WARNING: at /root/.cache/cnvmtest/modules/6340aec96bb2f05631b4.build/cn_fault.c:149 cn_fault_warn+0x3c/0x110 [cn_fault]",
				"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 38, false},
			{Oops, "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
				"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 42, 87, false},
		},
	},
	{
		// T34 on arm64: the callback returns into freed module text, an
		// instruction abort whose pc and first frame are bare addresses
		// (arch/arm64/mm/fault.c: die_kernel_fault, "paging request").
		file: "oops-freed-text-6.1-arm64.log",
		want: []found{{Oops, "Unable to handle kernel paging request at virtual address ffffd5d9cded78f0",
			"OOPS|cn_rx_skb|netlink_unicast|netlink_sendmsg", 5, 47, false}},
	},
	{
		// arm64 on 6.12: more abort decoding (ISS2, GCS), the Tainted:
		// line, then die()'s header as on 6.1.
		file: "oops-6.12-arm64.log",
		want: []found{{Oops, "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
			"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 5, 52, false}},
	},
	{
		// arm64's panic: dump_stack's trace names the unwinder
		// (dump_backtrace), which is no more the bug than dump_stack.
		file: "panic-6.1-arm64.log",
		want: []found{{Panic, "Kernel panic - not syncing: cn_fault: requested panic",
			"PANIC|cn_fault_panic|cn_rx_skb|netlink_unicast", 5, 30, false}},
	},
	{
		// arm64's hung task: the trace starts at __switch_to.
		file: "hung-task-6.1-arm64.log",
		want: []found{{HungTask, "INFO: task tests.test:82 blocked for more than 10 seconds.",
			"HUNG_TASK|cn_fault_hang|cn_rx_skb|netlink_unicast", 5, 28, false}},
	},
	{
		// arm64's soft lockup and RCU stall: the interrupted context's
		// registers (pc, lr, x0-x29) and its trace.
		file: "soft-lockup-6.1-arm64.log",
		want: []found{{SoftLockup, "watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [tests.test:82]",
			"SOFT_LOCKUP|cn_fault_spin|cn_fault_softlockup|cn_rx_skb", 5, 37, false}},
	},
	{
		file: "rcu-stall-6.1-arm64.log",
		want: []found{{RCUStall, "rcu: INFO: rcu_sched self-detected stall on CPU",
			"RCU_STALL|cn_fault_spin|cn_fault_rcu_stall|cn_rx_skb", 6, 39, false}},
	},
	{
		// s390 (6.1): the PSW and GPRS instead of pc and registers, a
		// "Call Trace:" whose frames carry their address and whose
		// unreliable ones are in parentheses, then the last breaking-event
		// address, which is no frame (arch/s390/kernel/dumpstack.c:
		// show_registers, show_stack, show_last_breaking_event). The same
		// fingerprint as amd64's.
		file: "warn-6.1-s390x.log",
		want: []found{{Warning, "WARNING: at /root/.cache/cnvmtest/modules/8bf76f7dfa9e57b0c377.build/cn_fault.c:150 cn_fault_warn+0x28/0x98 [cn_fault]",
			"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 37, false}},
	},
	{
		// s390's oops: the write to address 0 stopped by low-address
		// protection, as arch/s390/mm/fault.c (do_no_context,
		// dump_fault_info) prints it, then die()'s header with the
		// instruction length, "Oops: 0004 ilc:3 [#1] SMP".
		file: "oops-6.1-s390x.log",
		want: []found{{Oops, "Unable to handle kernel pointer dereference in virtual kernel address space",
			"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 5, 40, false}},
	},
	{
		// T34 on s390: the callback returns into freed module text, a
		// translation exception ("Oops: 0011 ilc:1") whose PSW and first
		// frame are bare addresses.
		file: "oops-freed-text-6.1-s390x.log",
		want: []found{{Oops, "Unable to handle kernel pointer dereference in virtual kernel address space",
			"OOPS|cn_rx_skb|netlink_unicast|netlink_sendmsg", 5, 32, false}},
	},
	{
		// s390's panic: dump_stack's trace, cut by the restart.
		file: "panic-6.1-s390x.log",
		want: []found{{Panic, "Kernel panic - not syncing: cn_fault: requested panic",
			"PANIC|cn_fault_panic|cn_rx_skb|netlink_unicast", 5, 19, false}},
	},
	{
		file: "hung-task-6.1-s390x.log",
		want: []found{{HungTask, "INFO: task tests.test:79 blocked for more than 10 seconds.",
			"HUNG_TASK|cn_fault_hang|cn_rx_skb|netlink_unicast", 5, 22, false}},
	},
	{
		// s390's RCU stall: the stalled CPU's registers and trace, and its
		// last breaking-event address, a bare "0xa", which ends the report.
		// (s390 has no soft-lockup detector: lib/Kconfig.debug,
		// SOFTLOCKUP_DETECTOR depends on !S390.)
		file: "rcu-stall-6.1-s390x.log",
		want: []found{{RCUStall, "rcu: INFO: rcu_sched self-detected stall on CPU",
			"RCU_STALL|cn_fault_spin|cn_fault_rcu_stall|cn_rx_skb", 5, 36, false}},
	},
	{
		// s390 on 6.12: the Tainted: line and the UID, then as on 6.1.
		file: "warn-6.12-s390x.log",
		want: []found{{Warning, "WARNING: at /root/.cache/cnvmtest/modules/bbd409c84794f1b37c60.build/cn_fault.c:150 cn_fault_warn+0x44/0xb0 [cn_fault]",
			"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 38, false}},
	},
	{
		file: "oops-6.12-s390x.log",
		want: []found{{Oops, "Unable to handle kernel pointer dereference in virtual kernel address space",
			"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 5, 41, false}},
	},
	{
		// __warn's banner on 7.2: "WARNING: file:line at func, CPU#n: comm/pid".
		file: "warn-oops-7.2.log",
		want: []found{
			{Warning, "WARNING: cn_fault.c:130 at cn_fault_warn+0x46/0x70 [cn_fault]",
				"WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast", 5, 48, false},
			{Oops, "BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"OOPS|cn_fault_oops|cn_rx_skb|netlink_unicast", 52, 97, false},
		},
	},
	{
		// 7.2's hung task header, its tainted line and the stack.
		file: "hung-task-7.2.log",
		want: []found{{HungTask, "INFO: task tests.test:96 blocked for more than 10 seconds.",
			"HUNG_TASK|cn_fault_hang|cn_rx_skb|netlink_unicast", 5, 34, false}},
	},
	{
		// panic() from the module on 7.2: the generic frames (vpanic,
		// panic) stay out of the fingerprint.
		file: "panic-7.2.log",
		want: []found{{Panic, "Kernel panic - not syncing: cn_fault: requested panic",
			"PANIC|cn_fault_panic|cn_rx_skb|netlink_unicast", 5, 37, false}},
	},
	{
		// 6.1: the report ends after print_trailer's stack; the FIX
		// lines after it are the repair, not the report.
		file: "slub-poison-6.1.log",
		want: []found{{Slab, "BUG kmalloc-64: Poison overwritten",
			"SLAB|cn_fault_poison_check|cn_rx_skb|netlink_unicast", 7, 65, false}},
	},
	{
		// 7.2: object_err's WARN_ON(1) belongs to the report; the
		// tracks' stacks before it are not the report's trace.
		file: "slub-double-free-7.2.log",
		want: []found{{Slab, "BUG kmalloc-64: Object already free",
			"SLAB|cn_fault_double_free|cn_rx_skb|netlink_unicast", 8, 74, false}},
	},
	{
		file: "kmsan-6.12.log",
		want: []found{{KMSAN, "BUG: KMSAN: uninit-value in cn_fault_uninit+0x5c/0x90 [cn_fault]",
			"KMSAN|cn_fault_uninit|cn_rx_skb|netlink_unicast", 6, 32, false}},
	},
	{
		// The first access's stack is the trace.
		file: "kcsan-6.12.log",
		want: []found{{KCSAN, "BUG: KCSAN: data-race in cn_fault_race_read / cn_fault_race_write",
			"KCSAN|cn_fault_race_write|cn_rx_skb|netlink_unicast", 7, 35, false}},
	},
	{
		file: "gpf-and-bug.log",
		want: []found{
			{Oops, "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] PREEMPT SMP KASAN NOPTI",
				"OOPS|cn_echo_callback|cn_rx_skb|netlink_unicast", 1, 28, false},
			{Oops, "kernel BUG at /work/kmod/cn_echo.c:77!",
				"OOPS|cn_echo_check|cn_echo_callback|cn_rx_skb", 31, 56, false},
		},
	},
}

func TestParseSamples(t *testing.T) {
	for _, tt := range samples {
		t.Run(tt.file, func(t *testing.T) {
			got := Parse(readSample(t, tt.file))
			if diff := cmp.Diff(tt.want, summarize(got)); diff != "" {
				t.Fatalf("unexpected reports (-want +got):\n%s", diff)
			}
			for _, r := range got {
				if len(r.Lines) != r.EndLine-r.StartLine+1 {
					t.Errorf("%s: %d lines for lines %d-%d", r.Kind, len(r.Lines), r.StartLine, r.EndLine)
				}
			}
		})
	}
}

// Reports come out of Line as soon as they are complete: at their last
// line, or at the line after it when only that line shows the end.
func TestScannerStreams(t *testing.T) {
	for _, tt := range samples {
		t.Run(tt.file, func(t *testing.T) {
			s := NewScanner()
			var all []Report
			lines := strings.SplitAfter(readSample(t, tt.file), "\n")
			for i, l := range lines {
				if l == "" {
					continue
				}
				for _, r := range s.Line(l) {
					if n := i + 1; r.EndLine != n && r.EndLine != n-1 {
						t.Errorf("%s ending at line %d came out at line %d", r.Kind, r.EndLine, n)
					}
					all = append(all, r)
				}
			}
			all = append(all, s.Flush()...)
			if diff := cmp.Diff(Parse(readSample(t, tt.file)), all); diff != "" {
				t.Fatalf("streaming differs from Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportDetails(t *testing.T) {
	r := Parse(readSample(t, "lockdep-circular.log"))[0]
	// The original lines, prefix and all, from the rule before the header.
	wantFirst := []string{
		"[   70.000010][  T161] ======================================================",
		"[   70.000020][  T161] WARNING: possible circular locking dependency detected",
	}
	if diff := cmp.Diff(wantFirst, r.Lines[:2]); diff != "" {
		t.Fatalf("unexpected first lines (-want +got):\n%s", diff)
	}
	// The frames are those of the stack backtrace, not of the chain.
	wantFrames := []string{
		"dump_stack_lvl", "print_circular_bug", "check_noncircular", "__lock_acquire", "lock_acquire",
		"cn_echo_callback", "__mutex_lock", "cn_echo_callback", "cn_echo_callback", "cn_echo_callback",
		"cn_rx_skb", "netlink_unicast", "netlink_sendmsg", "__sys_sendto", "__x64_sys_sendto",
		"do_syscall_64", "entry_SYSCALL_64_after_hwframe",
	}
	if diff := cmp.Diff(wantFrames, r.Frames); diff != "" {
		t.Fatalf("unexpected frames (-want +got):\n%s", diff)
	}
	if f := r.Trace[5]; f.Func != "cn_echo_callback" || f.Reliable || f.Module != "cn_echo" || f.Offset != 0x5e || f.Size != 0x120 {
		t.Fatalf("unexpected frame %+v", f)
	}

	oops := Parse(readSample(t, "oops-freed-text.log"))[0]
	want := Frame{Func: "cn_rx_skb", Offset: 0xd3, Size: 0x100, Reliable: false}
	if diff := cmp.Diff(want, oops.Trace[4]); diff != "" {
		t.Fatalf("unexpected frame (-want +got):\n%s", diff)
	}

	stall := Parse(readSample(t, "rcu-stall.log"))[0]
	for _, f := range stall.Trace {
		switch f.Func {
		case "hrtimer_interrupt":
			if !f.Interrupt {
				t.Errorf("%s is inside <IRQ> but not marked so", f.Func)
			}
		case "cn_rx_skb":
			if f.Interrupt {
				t.Errorf("%s is inside <TASK> but marked as in an interrupt", f.Func)
			}
		}
	}
}

// The same bug hit on 5.10 and on 6.12, at other addresses, in other
// processes, has one fingerprint.
func TestFingerprintIsStable(t *testing.T) {
	v510 := `[   12.000000] ------------[ cut here ]------------
[   12.000001] WARNING: CPU: 1 PID: 4242 at /build/kmod/cn_echo.c:139 cn_echo_exit+0x4e/0x60 [cn_echo]
[   12.000002] Modules linked in: cn_echo(OE-) crc32c_intel
[   12.000003] CPU: 1 PID: 4242 Comm: rmmod Tainted: G           OE     5.10.0-33-amd64 #1 Debian 5.10.226-1
[   12.000004] RIP: 0010:cn_echo_exit+0x4e/0x60 [cn_echo]
[   12.000005] Call Trace:
[   12.000006]  __do_sys_delete_module.constprop.0+0x17a/0x270
[   12.000007]  ? exit_to_user_mode_prepare+0x37/0x160
[   12.000008]  do_syscall_64+0x33/0x80
[   12.000009]  entry_SYSCALL_64_after_hwframe+0x61/0xc6
[   12.000010] ---[ end trace 7d3f3c2a1b0e9f11 ]---
`
	old := Parse(v510)
	cur := Parse(readSample(t, "warning.log"))
	if len(old) != 1 || len(cur) != 1 {
		t.Fatalf("got %d and %d reports, want 1 each", len(old), len(cur))
	}
	if old[0].Fingerprint != cur[0].Fingerprint {
		t.Fatalf("fingerprints differ: %q and %q", old[0].Fingerprint, cur[0].Fingerprint)
	}
}

func TestFingerprint(t *testing.T) {
	f := func(fn string, reliable, irq bool) Frame { return Frame{Func: fn, Reliable: reliable, Interrupt: irq} }
	tests := []struct {
		name  string
		kind  Kind
		rip   *Frame
		trace []Frame
		want  string
	}{
		{
			name:  "generic and unreliable frames are left out",
			kind:  Warning,
			trace: []Frame{f("dump_stack_lvl", true, false), f("__warn", true, false), f("noise", false, false), f("a", true, false), f("b.isra.0", true, false), f("c", true, false), f("d", true, false)},
			want:  "WARNING|a|b|c",
		},
		{
			name:  "the RIP function leads, once",
			kind:  Oops,
			rip:   &Frame{Func: "a.cold", Reliable: true},
			trace: []Frame{f("a", false, false), f("a", true, false), f("b", true, false), f("c", true, false)},
			want:  "OOPS|a|b|c",
		},
		{
			name:  "only unreliable frames: they are used",
			kind:  Oops,
			trace: []Frame{f("__die", false, false), f("x", false, false), f("y", false, false)},
			want:  "OOPS|x|y",
		},
		{
			name:  "a stall blames the interrupted code",
			kind:  RCUStall,
			trace: []Frame{f("tick_handler", true, true), f("spin", true, false), f("caller", true, false)},
			want:  "RCU_STALL|spin|caller",
		},
		{
			name:  "a stall in interrupt context",
			kind:  SoftLockup,
			trace: []Frame{f("irq_work", true, true), f("__schedule", true, false)},
			want:  "SOFT_LOCKUP|irq_work",
		},
		{
			name:  "a warning in interrupt context keeps its frames",
			kind:  Warning,
			trace: []Frame{f("timer_fn", true, true), f("task_fn", true, false)},
			want:  "WARNING|timer_fn|task_fn",
		},
		{
			name: "no frames: the title without numbers",
			kind: HungTask,
			want: "HUNG_TASK|INFO: task vmtests.test:N blocked for more than N seconds.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fingerprint(tt.kind, "INFO: task vmtests.test:161 blocked for more than 120 seconds.", tt.rip, tt.trace)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[    1.234567] Linux version 6.12.117", "Linux version 6.12.117"},
		{"[    1.234567]  cn_rx_skb+0xd3/0x100", " cn_rx_skb+0xd3/0x100"},
		{"[    1.234567][  T123]  cn_rx_skb+0xd3/0x100\r\n", " cn_rx_skb+0xd3/0x100"},
		{"[    1.234567] [    C0] rcu: INFO: x", "rcu: INFO: x"},
		{"<4>[ 1.2] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1", "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1"},
		{"4,612,42183456,-;BUG: unable to handle page fault", "BUG: unable to handle page fault"},
		{"no prefix at all", "no prefix at all"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := message(tt.in); got != tt.want {
			t.Errorf("message(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		in   string
		want Frame
		ok   bool
	}{
		{" cn_rx_skb+0xd3/0x100", Frame{Func: "cn_rx_skb", Offset: 0xd3, Size: 0x100, Reliable: true}, true},
		{" ? cn_echo_exit+0x5a/0x70 [cn_echo]", Frame{Func: "cn_echo_exit", Offset: 0x5a, Size: 0x70, Module: "cn_echo"}, true},
		{"    [<00000000c5a8d1f2>] kmem_cache_alloc_trace+0x15b/0x2a0", Frame{Func: "kmem_cache_alloc_trace", Offset: 0x15b, Size: 0x2a0, Reliable: true}, true},
		{" [<ffffffff8100a1b2>] ? f.isra.0+0x1/0x2 [m 3b6f9a0c1d2e]", Frame{Func: "f.isra.0", Offset: 1, Size: 2, Module: "m"}, true},
		{"       __mutex_lock+0x8e/0x960", Frame{Func: "__mutex_lock", Offset: 0x8e, Size: 0x960, Reliable: true}, true},
		{" handle_softirqs+0x9c/0x310 (P)", Frame{Func: "handle_softirqs", Offset: 0x9c, Size: 0x310, Reliable: true}, true},
		// s390: a reliable frame, an unreliable one in parentheses.
		{" [<000003ff7fd1462c>] cn_fault_warn+0x2c/0x98 [cn_fault] ", Frame{Func: "cn_fault_warn", Offset: 0x2c, Size: 0x98, Module: "cn_fault", Reliable: true}, true},
		{"([<000003ff7fd14628>] cn_fault_warn+0x28/0x98 [cn_fault])", Frame{Func: "cn_fault_warn", Offset: 0x28, Size: 0x98, Module: "cn_fault"}, true},
		{" [<00000000006e78da>] cn_rx_skb+0x16a/0x220 ", Frame{Func: "cn_rx_skb", Offset: 0x16a, Size: 0x220, Reliable: true}, true},
		{"(cn_fault_warn+0x28/0x98 [cn_fault])", Frame{}, false},
		{"Krnl PSW : 0704c00180000000 000003ff7fd1462c (cn_fault_warn+0x2c/0x98 [cn_fault])", Frame{}, false},
		{"RIP: 0010:cn_echo_exit+0x5a/0x70 [cn_echo]", Frame{}, false},
		{"ffff888004a1c0b8 (&lock){+.+.}-{3:3}, at: f+0x5e/0x120 [cn_echo]", Frame{}, false},
		{" #0: ffff888004a1c078 (&lock){+.+.}-{3:3}, at: f+0x40/0x120", Frame{}, false},
		{"hardirqs last  enabled at (1234): [<ffffffff81a1b2c3>] f+0x24/0x50", Frame{}, false},
		{" ? 0xffffffffa00001c1", Frame{}, false},
	}
	for _, tt := range tests {
		got, ok := parseFrame(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseFrame(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEdges(t *testing.T) {
	warnStart := `[ 1.0] ------------[ cut here ]------------
[ 1.1] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2
[ 1.2] Call Trace:
[ 1.3]  <TASK>
[ 1.4]  g+0x1/0x2
`
	tests := []struct {
		name string
		log  string
		want []found
	}{
		{
			name: "input ends inside a warning",
			log:  warnStart,
			want: []found{{Warning, "WARNING: at x.c:1 f+0x1/0x2", "WARNING|f|g", 1, 5, true}},
		},
		{
			name: "a panic cuts a warning short",
			log:  warnStart + "[ 1.5] Kernel panic - not syncing: panic_on_warn set ...\n",
			want: []found{
				{Warning, "WARNING: at x.c:1 f+0x1/0x2", "WARNING|f|g", 1, 5, true},
				{Panic, "Kernel panic - not syncing: panic_on_warn set ...", "PANIC|Kernel panic - not syncing: panic_on_warn set ...", 6, 6, false},
			},
		},
		{
			name: "cut here and the WARN message go to the next report",
			log: `[ 2.0] INFO: task a:1 blocked for more than 120 seconds.
[ 2.1] task:a state:D
[ 2.2] ------------[ cut here ]------------
[ 2.3] refcount_t: saturated; leaking memory.
[ 2.4] WARNING: CPU: 0 PID: 1 at lib/refcount.c:22 refcount_warn_saturate+0x1/0x2
[ 2.5] ---[ end trace 0000000000000000 ]---
`,
			want: []found{
				{HungTask, "INFO: task a:1 blocked for more than 120 seconds.", "HUNG_TASK|INFO: task a:N blocked for more than N seconds.", 1, 2, true},
				{Refcount, "refcount_t: saturated; leaking memory.", "REFCOUNT|refcount_t: saturated; leaking memory.", 3, 6, false},
			},
		},
		{
			name: "a WARN message, then the warning",
			log: `[ 3.0] ------------[ cut here ]------------
[ 3.1] cn_echo: bad state 3
[ 3.2] WARNING: CPU: 0 PID: 1 at x.c:9 h+0x1/0x2 [cn_echo]
[ 3.3] ---[ end trace 0000000000000000 ]---
`,
			want: []found{{Warning, "WARNING: at x.c:9 h+0x1/0x2 [cn_echo]", "WARNING|h", 1, 4, false}},
		},
		{
			name: "a rule belongs to the header right after it only",
			log: `=============================================
1 lock held by khungtaskd/31:
BUG: scheduling while atomic: vmtests.test/161/0x00000002
Call Trace:
 cn_echo_callback+0x1/0x2 [cn_echo]
`,
			want: []found{{Lockdep, "BUG: scheduling while atomic: vmtests.test/161/0x00000002", "LOCKDEP|cn_echo_callback", 3, 5, false}},
		},
		{
			name: "noise only",
			log:  "[ 0.1] Linux version 6.12\n------------[ cut here ]------------\n==============================\nWARNING: kernel stack regs at 00000000a1b2c3d4 in vmtests.test:161 has bad 'bp' value 0000000000000000\n",
		},
		{
			name: "a lone BUG line",
			log:  "[ 5.0] BUG: Bad rss-counter state mm:00000000b1c2d3e4 type:MM_ANONPAGES val:1 Comm:vmtests.test Pid:161\n[ 5.1] cnvmtest: next\n",
			want: []found{{Oops, "BUG: Bad rss-counter state mm:00000000b1c2d3e4 type:MM_ANONPAGES val:1 Comm:vmtests.test Pid:161",
				"OOPS|BUG: Bad rss-counter state mm:N type:MM_ANONPAGES val:N Comm:vmtests.test Pid:N", 1, 1, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(Parse(tt.log))); diff != "" {
				t.Fatalf("unexpected reports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	s := NewScanner()
	if s.Open() != nil {
		t.Fatal("open report before any input")
	}
	s.Line("[ 1.0] INFO: task a:1 blocked for more than 120 seconds.")
	s.Line("[ 1.1] Call Trace:")
	s.Line("[ 1.2]  cn_echo_callback+0x40/0x120 [cn_echo]")
	r := s.Open()
	if r == nil || r.Kind != HungTask || r.Fingerprint != "HUNG_TASK|cn_echo_callback" || !r.Truncated {
		t.Fatalf("Open() = %+v", r)
	}
	if got := s.Flush(); len(got) != 1 || got[0].Truncated {
		t.Fatalf("Flush() = %+v, want the report, complete", got)
	}
	if s.Open() != nil {
		t.Fatal("open report after Flush")
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2\n")
	for range maxLines + 10 {
		b.WriteString("some line\n")
	}
	got := Parse(b.String())
	if len(got) != 1 || len(got[0].Lines) != maxLines || !got[0].Truncated {
		t.Fatalf("got %d reports, first with %d lines, want 1 of %d lines, truncated", len(got), len(got[0].Lines), maxLines)
	}
}

// Every form of __warn's banner (kernel/panic.c) is a WARNING with the
// CPU and the task taken out of its title and the function as the place,
// whatever the file or function is called; lockdep's own titles stay
// lockdep; other "WARNING: " lines are no report.
func TestWarnBanners(t *testing.T) {
	tests := []struct {
		line  string
		kind  Kind // "" for no report
		title string
		place string // the function warnFrame finds, "" for none
	}{
		{line: "WARNING: CPU: 0 PID: 86 at drivers/connector/cn_queue.c:61 cn_queue_free_callback+0x5a/0x70",
			kind: Warning, title: "WARNING: at drivers/connector/cn_queue.c:61 cn_queue_free_callback+0x5a/0x70", place: "cn_queue_free_callback"},
		{line: "WARNING: CPU: 1 UID: 0 PID: 12 at kernel/locking/mutex.c:582 __mutex_lock+0x1f/0x80",
			kind: Warning, title: "WARNING: at kernel/locking/mutex.c:582 __mutex_lock+0x1f/0x80", place: "__mutex_lock"},
		{line: "WARNING: CPU: 0 PID: 86 at cn_fault_unlock+0x18/0x20 [cn_fault]",
			kind: Warning, title: "WARNING: at cn_fault_unlock+0x18/0x20 [cn_fault]", place: "cn_fault_unlock"},
		{line: "WARNING: cn_fault.c:130 at cn_fault_warn+0x46/0x70 [cn_fault], CPU#0: tests.test/95",
			kind: Warning, title: "WARNING: cn_fault.c:130 at cn_fault_warn+0x46/0x70 [cn_fault]", place: "cn_fault_warn"},
		{line: "WARNING: kernel/locking/lockdep.c:5880 at lock_release+0x2a1/0x2d0, CPU#1: kworker/u8:3/57",
			kind: Warning, title: "WARNING: kernel/locking/lockdep.c:5880 at lock_release+0x2a1/0x2d0", place: "lock_release"},
		{line: "WARNING: at cn_fault_spinlock_warn+0x46/0x70 [cn_fault], CPU#0: tests.test/95",
			kind: Warning, title: "WARNING: at cn_fault_spinlock_warn+0x46/0x70 [cn_fault]", place: "cn_fault_spinlock_warn"},
		{line: "WARNING: possible circular locking dependency detected", kind: Lockdep,
			title: "WARNING: possible circular locking dependency detected"},
		{line: "WARNING: suspicious RCU usage", kind: Lockdep, title: "WARNING: suspicious RCU usage"},
		{line: "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", kind: Lockdep,
			title: "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"},
		{line: "WARNING: tests.test/95 still has locks held!", kind: Lockdep, title: "WARNING: tests.test/95 still has locks held!"},
		{line: "WARNING: stack recursion on stack type 4"},
		{line: "WARNING: kernel stack frame pointer at 00000000c2d4f0a9 in tests.test:95 has bad value 0000000000000000"},
		{line: "WARNING: the block lock is held too long"},
	}
	for _, tt := range tests {
		h, ok := classify(tt.line)
		if !ok {
			if tt.kind != "" {
				t.Errorf("%q: no report, want %s", tt.line, tt.kind)
			}
			continue
		}
		if h.kind != tt.kind || h.title != tt.title {
			t.Errorf("%q: %s %q, want %s %q", tt.line, h.kind, h.title, tt.kind, tt.title)
		}
		if !h.warn {
			continue
		}
		place := ""
		if f := warnFrame(tt.line); f != nil {
			place = f.Func
		}
		if place != tt.place {
			t.Errorf("%q: warnFrame = %q, want %q", tt.line, place, tt.place)
		}
	}
}

// The same WARN_ON in the same code has the same fingerprint on every
// kernel of the matrix, with the old banner (5.10, 6.1, 6.12) and the new
// (7.2): real consoles of the fault module's TestWarn.
func TestWarnFingerprintAcrossKernels(t *testing.T) {
	const want = "WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast"
	for _, file := range []string{"warn-oops-5.10.log", "warn-6.1.log", "warn-oops-6.12.log", "warn-oops-7.2.log", "warn-oops-6.1-arm64.log", "warn-6.1-s390x.log", "warn-6.12-s390x.log"} {
		rs := Parse(readSample(t, file))
		if len(rs) == 0 {
			t.Errorf("%s: no report", file)
			continue
		}
		if rs[0].Kind != Warning || rs[0].Fingerprint != want {
			t.Errorf("%s: %s %q, want %s %q", file, rs[0].Kind, rs[0].Fingerprint, Warning, want)
		}
	}
}

// Header lines of the reports that have no sample of their own, in the
// formats the cited sources print.
func TestHeaders(t *testing.T) {
	tests := []struct {
		line  string
		kind  Kind
		title string
	}{
		// mm/slub.c: slab_bug, slab_err, check_bytes_and_report.
		{"BUG kmalloc-128 (Not tainted): Redzone overwritten", Slab, "BUG kmalloc-128: Redzone overwritten"},
		{"BUG kmalloc-rnd-03-64 (Tainted: G    B      OE     ): Left Redzone overwritten", Slab, "BUG kmalloc-rnd-03-64: Left Redzone overwritten"},
		{"BUG cn_fault_cache (Tainted: G           OE     ): Objects remaining on __kmem_cache_shutdown()", Slab, "BUG cn_fault_cache: Objects remaining on __kmem_cache_shutdown()"},
		{"BUG <unknown> (Not tainted): Invalid object pointer 0xffff888004978381", Slab, "BUG <unknown>: Invalid object pointer 0xffff888004978381"},
		// kernel/kcsan/report.c: print_report, without the other access.
		{"BUG: KCSAN: assert: race in cn_fault_race_write+0x3a/0x70 [cn_fault]", KCSAN, "BUG: KCSAN: assert: race in cn_fault_race_write+0x3a/0x70 [cn_fault]"},
		// mm/kmsan/report.c: kmsan_report, REASON_COPY_TO_USER.
		{"BUG: KMSAN: kernel-infoleak in _copy_to_user+0xbc/0x110", KMSAN, "BUG: KMSAN: kernel-infoleak in _copy_to_user+0xbc/0x110"},
		// kernel/hung_task.c: check_hung_task on 7.2.
		{"INFO: task tests.test:99 blocked in I/O wait for more than 10 seconds.", HungTask, "INFO: task tests.test:99 blocked in I/O wait for more than 10 seconds."},
		// arch/x86/kernel/dumpstack.c: __die_header ("Oops: %s: %04lx [#%d]")
		// with the page fault's "Oops" as its str, as in warn-oops-7.2.log.
		{"Oops: Oops: 0000 [#1] SMP NOPTI", Oops, "Oops: Oops: 0000 [#1] SMP NOPTI"},
		// arch/s390/kernel/dumpstack.c: die ("%s: %04x ilc:%d [#%d] "),
		// after a fault (oops-6.1-s390x.log) and after BUG()'s monitor
		// event (arch/s390/kernel/traps.c: monitor_event_exception).
		{"Oops: 0004 ilc:3 [#1] SMP ", Oops, "Oops: 0004 ilc:3 [#1] SMP"},
		{"monitor event: 0040 ilc:2 [#1] PREEMPT SMP", Oops, "monitor event: 0040 ilc:2 [#1] PREEMPT SMP"},
	}
	for _, tt := range tests {
		h, ok := classify(tt.line)
		if !ok || h.kind != tt.kind || h.title != tt.title {
			t.Errorf("%q: %v %s %q, want %s %q", tt.line, ok, h.kind, h.title, tt.kind, tt.title)
		}
	}
	for _, line := range []string{
		// SLUB's repair notes and tracks are inside a report, never one.
		"FIX kmalloc-64: Restoring Poison 0xffff888004b3c2a8-0xffff888004b3c2a8=0x6b",
		"INFO: Allocated in cn_fault_poison+0x2e/0x90 [cn_fault] age=3 cpu=0 pid=95",
		"INFO: task tests.test:99 is blocked on a mutex likely owned by task kworker/0:1:12.",
	} {
		if h, ok := classify(line); ok {
			t.Errorf("%q: classified as %s, want no report", line, h.kind)
		}
	}
}

// s390's stacks: an unreliable frame is in parentheses, the PSW says where
// the CPU was, and the last breaking-event address after the trace belongs
// to the report but to no stack.
func TestS390Details(t *testing.T) {
	warn := Parse(readSample(t, "warn-6.1-s390x.log"))[0]
	want := []Frame{
		{Func: "cn_fault_warn", Offset: 0x2c, Size: 0x98, Module: "cn_fault", Reliable: true},
		{Func: "cn_fault_warn", Offset: 0x28, Size: 0x98, Module: "cn_fault"},
		{Func: "cn_rx_skb", Offset: 0x16a, Size: 0x220, Reliable: true},
	}
	if diff := cmp.Diff(want, warn.Trace[:3]); diff != "" {
		t.Errorf("the warning's first frames (-want +got):\n%s", diff)
	}
	if n := len(warn.Frames); n != 10 || warn.Frames[n-1] != "system_call" {
		t.Errorf("the warning's frames %q: want the 10 of its call trace, up to system_call, and not the last breaking event's cn_fault_enter", warn.Frames)
	}
	if last := warn.Lines[len(warn.Lines)-1]; !strings.Contains(last, "---[ end trace") {
		t.Errorf("the warning ends at %q, want its end marker", last)
	}

	stall := Parse(readSample(t, "rcu-stall-6.1-s390x.log"))[0]
	if n := len(stall.Lines); !strings.Contains(stall.Lines[n-2], "Last Breaking-Event-Address:") || !strings.HasSuffix(strings.TrimSpace(stall.Lines[n-1]), "] 0xa") {
		t.Errorf("the stall's last lines %q: want the last breaking-event address", stall.Lines[n-2:])
	}
	if len(stall.Frames) != 10 {
		t.Errorf("the stall's frames %q: want the 10 of its call trace", stall.Frames)
	}

	oops := Parse(readSample(t, "oops-6.1-s390x.log"))[0]
	if !strings.Contains(strings.Join(oops.Lines, "\n"), "Oops: 0004 ilc:3 [#1] SMP") {
		t.Error("the oops lacks die()'s header line")
	}
	var s state
	for _, l := range []string{"Krnl PSW : 0704d00180000000 000003ff7fd14396 (cn_fault_spin+0x4e/0x78 [cn_fault])", "Call Trace:"} {
		s.add(line{raw: l, msg: l})
	}
	if s.rip == nil || s.rip.Func != "cn_fault_spin" || s.rip.Module != "cn_fault" {
		t.Errorf("the PSW line gives rip %+v, want cn_fault_spin [cn_fault]", s.rip)
	}
}

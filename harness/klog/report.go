// SPDX-License-Identifier: MIT

package klog

// Kind is the class of a kernel report.
type Kind string

// The kinds of kernel reports the scanner recognises.
const (
	// Panic is "Kernel panic - not syncing: ...". It often follows an
	// Oops (with panic_on_oops or in interrupt context): both are reported.
	Panic Kind = "PANIC"
	// Oops is a kernel crash that killed the running task: "BUG: unable
	// to handle page fault", "BUG: kernel NULL pointer dereference",
	// "general protection fault", "kernel BUG at", "Oops: ... [#1]", and
	// any other "BUG:" line no other kind claims.
	Oops Kind = "OOPS"
	// KASAN is a KASAN memory error report ("BUG: KASAN: ...").
	KASAN Kind = "KASAN"
	// KFENCE is a KFENCE memory error report ("BUG: KFENCE: ...").
	KFENCE Kind = "KFENCE"
	// KMSAN is a KMSAN uninitialised-value report ("BUG: KMSAN: ...",
	// mm/kmsan/report.c: kmsan_report).
	KMSAN Kind = "KMSAN"
	// KCSAN is a KCSAN data race report ("BUG: KCSAN: data-race in f / g",
	// kernel/kcsan/report.c: print_report).
	KCSAN Kind = "KCSAN"
	// UBSAN is an undefined behaviour report ("UBSAN: ...").
	UBSAN Kind = "UBSAN"
	// Slab is a SLUB debug report of a corrupted or misused slab object:
	// "BUG kmalloc-64 (Not tainted): Poison overwritten", "... Object
	// already free", "... Redzone overwritten" and the other messages of
	// mm/slub.c's slab_bug (object_err, slab_err, check_bytes_and_report).
	// 6.1 ends the report with a stack dump; 6.12 and 7.2 end it with a
	// WARN_ON(1) (object_err, __slab_err), which is part of the report,
	// not a report of its own.
	Slab Kind = "SLAB"
	// Warning is a WARN_ON() splat: "WARNING: CPU: n PID: n at file:line
	// func" before about 6.19, "WARNING: file:line at func, CPU#n: comm/pid"
	// since (kernel/panic.c: __warn).
	Warning Kind = "WARNING"
	// Lockdep covers locking and atomic-context checks: lockdep's
	// reports (possible circular or recursive locking, inconsistent lock
	// state, suspicious RCU usage...), and "BUG: sleeping function called
	// from invalid context", "BUG: scheduling while atomic" and the
	// spinlock debug BUGs. Those print "BUG:" but, unlike an Oops, kill
	// nothing: the kernel goes on, with a locking bug in it.
	Lockdep Kind = "LOCKDEP"
	// HungTask is a task the hung task detector found blocked ("INFO:
	// task x:1 blocked for more than 120 seconds", "... blocked in I/O
	// wait for more than ..." on 7.2, kernel/hung_task.c: check_hung_task), or a workqueue lockup.
	HungTask Kind = "HUNG_TASK"
	// SoftLockup is "BUG: soft lockup - CPU#0 stuck for 22s!".
	SoftLockup Kind = "SOFT_LOCKUP"
	// HardLockup is "Watchdog detected hard LOCKUP on cpu 1".
	HardLockup Kind = "HARD_LOCKUP"
	// RCUStall is an RCU CPU stall warning ("rcu: INFO: rcu_preempt
	// self-detected stall on CPU", "... detected stalls on CPUs/tasks").
	RCUStall Kind = "RCU_STALL"
	// Kmemleak is a leaked object ("unreferenced object 0x... (size 64):"),
	// or kmemleak's summary line when it printed no object.
	Kmemleak Kind = "KMEMLEAK"
	// Refcount is a refcount_t saturation warning ("refcount_t:
	// underflow; use-after-free.").
	Refcount Kind = "REFCOUNT"
)

// Kinds lists every kind.
var Kinds = []Kind{Panic, Oops, KASAN, KFENCE, KMSAN, KCSAN, UBSAN, Slab, Warning, Lockdep, HungTask, SoftLockup, HardLockup, RCUStall, Kmemleak, Refcount}

// Report is one kernel splat found in the console output.
type Report struct {
	Kind Kind
	// Title is the report's header line without the console prefix, with
	// the CPU and PID taken out of a WARNING's.
	Title string
	// Lines are the report's console lines as they came, from the line
	// before the header that belongs to it ("------------[ cut here ]"
	// or a "=====" rule) to its end marker or last stack line.
	Lines []string
	// Frames are the function names of the report's main call trace, in
	// the order printed, including the frames the unwinder marked with
	// "?" as unreliable. Trace has the details.
	Frames []string
	// Trace is the main call trace: the one after "Call Trace:" (after
	// "stack backtrace:" in lockdep reports), or the first stack of a
	// report that has no such line (kmemleak, KFENCE).
	Trace []Frame
	// Fingerprint identifies the bug across runs and kernels: the kind
	// and the top three frames that say where the bug is, leaving out
	// unreliable frames and generic ones (dump_stack, __warn, report_bug,
	// the exception entry, panic, printk, the lock primitives and
	// allocators...), for instance "WARNING|cn_queue_free_dev|cn_del_callback|cn_echo_exit".
	// Compiler suffixes such as ".isra.0" are dropped. When only
	// unreliable frames are left, as after a jump into freed module
	// text, they are used; when there are none at all, the title with
	// its numbers blanked out stands in for them.
	Fingerprint string
	// StartLine and EndLine are the numbers of the report's first and
	// last lines in the scanned input, counted from 1.
	StartLine, EndLine int
	// Truncated is set when the report ended before its end marker or
	// its call trace: the input ended, another report started, or the
	// report grew past the scanner's limits.
	Truncated bool
}

// String returns the kind and the title, such as
// "OOPS: BUG: unable to handle page fault for address: ffffffffa00001c1".
func (r Report) String() string { return string(r.Kind) + ": " + r.Title }

// Frame is one line of a call trace, such as " ? cn_echo_callback+0x3c/0x120 [cn_echo]".
type Frame struct {
	Func   string // "cn_echo_callback", with any compiler suffix (".isra.0")
	Offset uint64 // 0x3c
	Size   uint64 // 0x120
	Module string // "cn_echo", or "" for the kernel image
	// Reliable is false for frames printed with "?": addresses found on
	// the stack that the unwinder could not prove are return addresses.
	Reliable bool
	// Interrupt is set for frames inside an <IRQ>, <NMI> or exception
	// stack block.
	Interrupt bool
}

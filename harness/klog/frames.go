// SPDX-License-Identifier: MIT

package klog

import (
	"regexp"
	"strconv"
	"strings"
)

// frameLine matches a call trace line: "  func+0x12/0x34 [module]", with "? "
// for unreliable frames, and the "[<ffffffff8100a1b2>] " address older x86
// kernels, kmemleak, lockdep and s390 print before the symbol. s390 puts
// an unreliable frame in parentheses instead of marking it "?":
// "([<000003ff7fd14628>] f+0x28/0x98 [m])" (arch/s390/kernel/dumpstack.c:
// show_stack prints "%s [<%016lx>] %pSR \n" for a reliable frame,
// "%s([<%016lx>] %pSR)\n" for another).
var frameLine = regexp.MustCompile(`^\s*(?:(\()?\[<[0-9a-f]+>\]\s*)?(\?\s+)?([A-Za-z_$][\w.$]*)\+(0x[0-9a-f]+)/(0x[0-9a-f]+)(?:\s+\[([\w.-]+)(?:\s+[0-9a-f]+)?\])?`)

// parseFrame parses one call trace line.
func parseFrame(msg string) (Frame, bool) {
	m := frameLine.FindStringSubmatch(msg)
	if m == nil {
		return Frame{}, false
	}
	off, _ := strconv.ParseUint(m[4], 0, 64)
	size, _ := strconv.ParseUint(m[5], 0, 64)
	return Frame{Func: m[3], Offset: off, Size: size, Module: m[6], Reliable: m[1] == "" && m[2] == ""}, true
}

// rawFrame matches a stack entry without a symbol, as printed for an
// address in freed module text: " ? 0xffffffffa00001c1", and on s390
// " [<0000100402187000>] 0x100402187000 " or the same in parentheses.
var rawFrame = regexp.MustCompile(`^\s*(?:\(?\[<[0-9a-f]+>\]\s*)?(?:\?\s+)?(?:0x)?[0-9a-f]{8,16}\)?\s*$`)

// bracket matches the markers around stack parts: <TASK>, </IRQ>, <NMI>,
// <#DF>, and <EOI> and <EOE> of older kernels.
var bracket = regexp.MustCompile(`^\s*<(/?)([#A-Z_]+)>\s*$`)

// register matches register dump lines, which x86 also prints inside a
// trace for the user mode registers of a task.
var register = regexp.MustCompile(`^\s*(?:R[A-Z0-9]{1,3}|E[A-Z]{2}|[C-G]S|CR\d|DR\d|PKRU|Code|pc|lr|sp|x\d{1,2}|pstate)\s*:`)

// ripLine matches the faulting instruction's location: x86 "RIP: 0010:f+0x1/0x2",
// i386 "EIP: f+0x1/0x2", arm64 "pc : f+0x1/0x2", s390 "Krnl PSW :
// 0704c00180000000 000003ff7fd1462c (f+0x2c/0x98 [m])" (arch/s390/kernel/
// dumpstack.c: show_registers prints the PSW's mask and address, then the
// symbol in parentheses for a kernel-mode PSW).
var ripLine = regexp.MustCompile(`^\s*(?:RIP: [0-9a-f]{4}:|EIP: |pc : |Krnl PSW : [0-9a-f]{16} [0-9a-f]{16} \()(.*)$`)

func parseRIP(msg string) (Frame, bool) {
	m := ripLine.FindStringSubmatch(msg)
	if m == nil {
		return Frame{}, false
	}
	f, ok := parseFrame(m[1])
	f.Reliable = true
	return f, ok
}

// stackLine reports whether msg can appear inside a call trace.
func stackLine(msg string) bool {
	if _, ok := parseFrame(msg); ok {
		return true
	}
	return bracket.MatchString(msg) || rawFrame.MatchString(msg) || register.MatchString(msg) || isLastBreak(msg)
}

// isLastBreak reports whether msg is the line s390 prints after the call
// trace of a register dump, before the address of the last branch taken
// (arch/s390/kernel/dumpstack.c: show_regs, show_last_breaking_event):
// that address, on the next line, is no frame of the trace.
func isLastBreak(msg string) bool {
	return strings.TrimSpace(msg) == "Last Breaking-Event-Address:"
}

// lastBreakAddr matches the line after isLastBreak's, " [<%016lx>] %pSR":
// a symbol ("_printk+0x52/0x58"), or a bare address however short ("0xa").
var lastBreakAddr = regexp.MustCompile(`^\s*\[<[0-9a-f]+>\]`)

// genericFrames are functions that say how a report was made, not where
// the bug is: reporting, exception entry, scheduling, locking and
// allocation. Names are without compiler suffixes.
var genericFrames = map[string]bool{
	// reporting and dying
	"dump_stack": true, "dump_stack_lvl": true, "show_stack": true, "show_regs": true, "__show_regs": true,
	"show_trace_log_lvl": true, "__warn": true, "warn_slowpath_fmt": true, "warn_slowpath_null": true,
	"__warn_printk": true, "report_bug": true, "handle_bug": true, "exc_invalid_op": true,
	"do_error_trap": true, "do_trap": true, "do_invalid_op": true, "invalid_op": true,
	"panic": true, "vpanic": true, "nmi_panic": true, "printk": true, "_printk": true, "vprintk": true,
	"vprintk_emit": true, "vprintk_default": true, "__die": true, "__die_body": true, "die": true,
	"die_addr": true, "oops_end": true, "page_fault_oops": true, "no_context": true, "do_page_fault": true,
	"__do_page_fault": true, "do_user_addr_fault": true, "exc_page_fault": true,
	"kernelmode_fixup_or_oops": true, "__bad_area_nosemaphore": true, "bad_area_nosemaphore": true,
	"bad_area": true, "spurious_kernel_fault": true, "exc_general_protection": true,
	"do_general_protection": true, "fixup_exception": true, "BUG": true,
	// refcount_t
	"refcount_warn_saturate": true, "__refcount_sub_and_test": true, "__refcount_dec_and_test": true,
	"refcount_dec_and_test": true, "refcount_sub_and_test": true, "__refcount_add": true,
	"__refcount_inc": true, "refcount_inc": true, "refcount_dec": true, "__refcount_dec": true,
	"refcount_inc_not_zero": true, "__refcount_inc_not_zero": true, "__refcount_add_not_zero": true,
	// sanitizers
	"print_report": true, "print_address_description": true, "check_memory_region": true,
	"check_region_inline": true, "ubsan_epilogue": true, "kmsan_report": true,
	// SLUB debugging (mm/slub.c) and the frees that run its checks
	"slab_bug": true, "__slab_bug": true, "slab_err": true, "__slab_err": true, "object_err": true,
	"print_trailer": true, "check_bytes_and_report": true, "check_object": true, "check_slab": true,
	"check_pad_bytes": true, "slab_pad_check": true, "on_freelist": true, "free_consistency_checks": true,
	"free_debug_processing": true, "alloc_consistency_checks": true, "alloc_debug_processing": true,
	"free_to_partial_list": true, "__slab_free": true, "slab_free": true, "do_slab_free": true,
	"slab_free_hook": true, "slab_free_freelist_hook": true, "kfree": true, "kmem_cache_free": true,
	"__kmem_cache_free": true, "list_slab_objects": true, "free_partial": true,
	"__kmem_cache_shutdown": true, "kmem_cache_destroy": true,
	// atomic context, lockdep
	"__might_resched": true, "___might_sleep": true, "__might_sleep": true, "__might_fault": true,
	"might_fault": true, "lock_acquire": true, "__lock_acquire": true, "lock_release": true,
	"__lock_release": true, "check_noncircular": true, "check_prev_add": true, "check_prevs_add": true,
	"validate_chain": true, "print_circular_bug": true, "print_deadlock_bug": true,
	"check_deadlock": true, "print_usage_bug": true, "valid_state": true, "mark_lock": true,
	"mark_lock_irq": true, "mark_usage": true, "lockdep_rcu_suspicious": true,
	"debug_lockdep_rcu_enabled": true, "rcu_read_lock_held": true, "__schedule_bug": true,
	// sleeping and locks
	"__schedule": true, "schedule": true, "schedule_timeout": true, "schedule_preempt_disabled": true,
	"io_schedule": true, "io_schedule_timeout": true, "preempt_schedule": true,
	"preempt_schedule_common": true, "__wait_for_common": true, "wait_for_common": true,
	"do_wait_for_common": true, "wait_for_completion": true, "wait_for_completion_timeout": true,
	"wait_for_completion_interruptible": true, "wait_for_completion_killable": true,
	"rwsem_down_write_slowpath": true, "rwsem_down_read_slowpath": true, "down_write": true,
	"down_read": true, "down": true, "mutex_lock": true, "mutex_lock_nested": true, "__mutex_lock": true,
	"__mutex_lock_slowpath": true, "mutex_lock_interruptible": true, "mutex_lock_killable": true,
	"queued_spin_lock_slowpath": true, "native_queued_spin_lock_slowpath": true,
	"__pv_queued_spin_lock_slowpath": true, "msleep": true, "usleep_range_state": true,
	// entry and kernel threads
	"do_syscall_64": true, "do_syscall_x64": true, "ret_from_fork": true, "ret_from_fork_asm": true,
	"kthread": true, "worker_thread": true, "process_one_work": true,
	// watchdogs, stall detection and the timer interrupt that runs them
	"watchdog_timer_fn": true, "nmi_cpu_backtrace": true, "nmi_trigger_cpumask_backtrace": true,
	"arch_trigger_cpumask_backtrace": true, "rcu_dump_cpu_stacks": true, "print_cpu_stall": true,
	"print_other_cpu_stall": true, "check_cpu_stall": true, "rcu_pending": true,
	"rcu_sched_clock_irq": true, "update_process_times": true, "tick_sched_handle": true,
	"tick_sched_timer": true, "tick_nohz_handler": true, "__hrtimer_run_queues": true,
	"hrtimer_interrupt": true, "__sysvec_apic_timer_interrupt": true, "sysvec_apic_timer_interrupt": true,
	"irq_exit_rcu": true, "__irq_exit_rcu": true, "handle_softirqs": true, "__do_softirq": true,
	"do_softirq": true, "watchdog": true, "check_hung_uninterruptible_tasks": true,
	"check_hung_task": true, "hung_task_panic": true, "sched_show_task": true,
	"show_state_filter": true,
	// allocators (kmemleak's backtraces start with them)
	"slab_post_alloc_hook": true, "create_object": true,
	// arm64 (6.1, 6.12): the unwinder, which names itself in traces that
	// dump_stack prints (arch/arm64/kernel/stacktrace.c: dump_backtrace),
	// the context switch that starts a sleeping task's trace
	// (arch/arm64/kernel/process.c: __switch_to), the system call and
	// exception entry (arch/arm64/kernel/entry-common.c, syscall.c), the
	// kernel's faults and BRK-based BUG/WARN (arch/arm64/mm/fault.c,
	// arch/arm64/kernel/traps.c, debug-monitors.c) and the interrupt path
	// a timer-driven report comes through (irq-gic.c, arm_arch_timer.c).
	"dump_backtrace": true, "__switch_to": true,
	"invoke_syscall": true, "el0_svc_common": true, "do_el0_svc": true, "el0_svc": true,
	"el0t_64_sync_handler": true, "el0t_64_sync": true,
	"el1h_64_sync_handler": true, "el1h_64_sync": true, "el1_abort": true, "el1_dbg": true,
	"el1_interrupt": true, "el1h_64_irq_handler": true, "el1h_64_irq": true,
	"do_mem_abort": true, "do_translation_fault": true, "__do_kernel_fault": true, "die_kernel_fault": true,
	"arm64_notify_die": true, "bug_handler": true, "call_break_hook": true, "brk_handler": true,
	"do_debug_exception": true, "gic_handle_irq": true, "call_on_irq_stack": true,
	"do_interrupt_handler": true, "arch_timer_handler_virt": true, "handle_percpu_devid_irq": true,
	"generic_handle_domain_irq": true,
	// s390 (6.1, 6.12): system call and exception entry and the kernel's
	// faults, BUG/WARN monitor events included (arch/s390/kernel/entry.S,
	// syscall.c, traps.c, process.c: __ret_from_fork; arch/s390/mm/
	// fault.c), and the interrupt path (arch/s390/kernel/irq.c).
	"system_call": true, "__do_syscall": true, "__ret_from_fork": true,
	"pgm_check_handler": true, "__do_pgm_check": true, "do_report_trap": true, "monitor_event_exception": true,
	"do_dat_exception": true, "do_protection_exception": true, "do_exception": true, "do_no_context": true,
	"do_low_address": true, "do_fault_error": true, "ext_int_handler": true, "io_int_handler": true,
	"mcck_int_handler": true, "do_ext_irq": true, "do_io_irq": true, "do_irq_async": true,
}

// genericPrefixes extend genericFrames to families of functions.
var genericPrefixes = []string{
	"asm_exc_", "asm_sysvec_", "asm_common_interrupt", "asm_call_", "__pfx_", "entry_SYSCALL",
	"__asan_", "__kasan_", "kasan_", "__ubsan_handle_", "kfence_", "kmemleak_",
	"__msan_", "kmsan_", "__tsan_", "kcsan_", "__kcsan_",
	"__kmalloc", "kmalloc", "kmem_cache_alloc", "kzalloc", "kvmalloc", "__kvmalloc", "krealloc",
	"__kmem_cache_alloc", "___slab_alloc", "__slab_alloc", "lockdep_", "_raw_", "__raw_", "do_raw_",
}

func generic(name string) bool {
	if genericFrames[name] {
		return true
	}
	for _, p := range genericPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// baseName drops a compiler suffix: "__mutex_lock.constprop.0" is "__mutex_lock".
func baseName(fn string) string {
	if i := strings.IndexByte(fn, '.'); i > 0 {
		return fn[:i]
	}
	return fn
}

// fingerprintFrames is how many frames a fingerprint names.
const fingerprintFrames = 3

// fingerprint identifies a report; see Report.Fingerprint.
func fingerprint(kind Kind, title string, rip *Frame, trace []Frame) string {
	// Lockups and stalls are found from an interrupt: the interrupted
	// code is the culprit, not the interrupt that noticed.
	interruptsLast := kind == SoftLockup || kind == HardLockup || kind == RCUStall
	var names []string
	for _, mode := range []struct{ anyReliability, interrupts bool }{
		{false, !interruptsLast}, {true, !interruptsLast}, {false, true}, {true, true},
	} {
		names = names[:0]
		if rip != nil && !generic(baseName(rip.Func)) {
			names = append(names, baseName(rip.Func))
		}
		fromTrace := 0
		for _, f := range trace {
			if len(names) == fingerprintFrames {
				break
			}
			name := baseName(f.Func)
			if (!f.Reliable && !mode.anyReliability) || (f.Interrupt && !mode.interrupts) || generic(name) {
				continue
			}
			fromTrace++
			if len(names) == 0 || names[len(names)-1] != name {
				names = append(names, name)
			}
		}
		if fromTrace > 0 {
			break
		}
	}
	if len(names) == 0 {
		return string(kind) + "|" + normalizeTitle(title)
	}
	return string(kind) + "|" + strings.Join(names, "|")
}

var (
	hexNumber = regexp.MustCompile(`\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*\b`)
	spaces    = regexp.MustCompile(`\s+`)
)

// normalizeTitle blanks out the numbers of a title (addresses, PIDs,
// seconds) so that it can stand in for frames in a fingerprint.
func normalizeTitle(title string) string {
	return spaces.ReplaceAllString(hexNumber.ReplaceAllString(title, "N"), " ")
}

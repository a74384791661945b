// SPDX-License-Identifier: MIT

package klog

import (
	"regexp"
	"slices"
	"strings"
)

// ending says how a report ends.
type ending int

const (
	// endMarker: at "---[ end trace" from __warn and oops_exit, or at the
	// "=====" rule that closes KASAN, KFENCE and older UBSAN reports.
	endMarker ending = iota
	// endStack: after the main call trace. Lockdep, hung task, lockup
	// and stall reports have no end marker; their last part is a stack.
	endStack
	// endIndent: at the first line that is not indented (kmemleak).
	endIndent
	// endLine: the header line is the whole report.
	endLine
	// endPanic: at "---[ end Kernel panic", which panic=-1 never prints
	// because the machine restarts first, so also at the end of input
	// or after a line budget.
	endPanic
)

// header is what a report's first line says about the report.
type header struct {
	kind  Kind
	title string
	end   ending
	// expectWarn: a "WARNING: CPU:" line follows and belongs to this
	// report (refcount_t's message comes before __warn's header).
	expectWarn bool
	// expectDie: an "Oops: ... [#1]" line follows and belongs to this
	// report ("BUG: unable to handle page fault", "kernel BUG at").
	expectDie bool
	warn      bool // the line is __warn's "WARNING: CPU:" header
	die       bool // the line is die()'s "...: 0000 [#1] ..." header
	summary   bool // kmemleak's "N new suspected memory leaks"
}

type rule struct {
	re *regexp.Regexp
	h  header
}

// rules classify header lines, first match wins. They match the line
// without its console prefix. The formats are those of Debian's 5.10, 6.1,
// 6.12 and 7.2 kernel sources (linux-source-*), cited by file and function.
var rules = []rule{
	// kernel/panic.c: panic.
	{regexp.MustCompile(`^Kernel panic - not syncing`), header{kind: Panic, end: endPanic}},
	// mm/kasan/report.c, mm/kfence/report.c, mm/kmsan/report.c
	// (kmsan_report) and kernel/kcsan/report.c (print_report): a "====="
	// rule, the header, the report, a closing "=====" rule.
	{regexp.MustCompile(`^BUG: KASAN: `), header{kind: KASAN, end: endMarker}},
	{regexp.MustCompile(`^BUG: KFENCE: `), header{kind: KFENCE, end: endMarker}},
	{regexp.MustCompile(`^BUG: KMSAN: `), header{kind: KMSAN, end: endMarker}},
	{regexp.MustCompile(`^BUG: KCSAN: `), header{kind: KCSAN, end: endMarker}},
	// lib/ubsan.c: ubsan_prologue; between "=====" rules on 5.10 and 6.1,
	// between "cut here" and "---[ end trace ]---" on 6.12 and 7.2.
	{regexp.MustCompile(`^UBSAN: `), header{kind: UBSAN, end: endMarker}},
	// mm/slub.c: slab_bug ("BUG %s (%s): %pV" after a "=====" rule): on
	// 6.1 a stack dump follows (print_trailer, slab_err); on 6.12 and 7.2
	// a WARN_ON(1) (object_err, __slab_err).
	{regexp.MustCompile(`^BUG \S+ \((?:Not tainted|Tainted: [^)]*)\): `), header{kind: Slab, end: endStack, expectWarn: true}},
	// kernel/watchdog.c: watchdog_timer_fn, watchdog_hardlockup_check.
	{regexp.MustCompile(`BUG: soft lockup`), header{kind: SoftLockup, end: endStack}},
	{regexp.MustCompile(`Watchdog detected hard LOCKUP`), header{kind: HardLockup, end: endStack, expectWarn: true}},
	{regexp.MustCompile(`INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stall`), header{kind: RCUStall, end: endStack}},
	// kernel/hung_task.c: check_hung_task; 7.2 adds " in I/O wait".
	{regexp.MustCompile(`^INFO: task \S.* blocked(?: in I/O wait)? for more than \d+ seconds`), header{kind: HungTask, end: endStack}},
	{regexp.MustCompile(`^BUG: workqueue lockup`), header{kind: HungTask, end: endStack}},
	{regexp.MustCompile(`^(?:kmemleak: )?unreferenced object 0x`), header{kind: Kmemleak, end: endIndent}},
	{regexp.MustCompile(`^kmemleak: \d+ new suspected memory leaks`), header{kind: Kmemleak, end: endLine, summary: true}},
	{regexp.MustCompile(`^refcount_t: `), header{kind: Refcount, end: endMarker, expectWarn: true}},
	// kernel/panic.c: __warn. Up to 6.12: "WARNING: CPU: %d PID: %d at
	// %s:%d %pS", or "... at %pS" without a file. 7.2: "WARNING: %s:%d at
	// %pS, CPU#%d: %s/%d", or "WARNING: at %pS, CPU#%d: %s/%d".
	{warnOld, header{kind: Warning, end: endMarker, warn: true}},
	{warnNew, header{kind: Warning, end: endMarker, warn: true}},
	// kernel/locking/lockdep.c titles its reports "WARNING: <what>" (the
	// same titles in 6.1 and 7.2); other "WARNING: " lines without a CPU
	// (the unwinder's complaints) are not splats, and a WARN banner whose
	// file or function names a lock is a WARNING (the rules above).
	{regexp.MustCompile(`^WARNING: (?:possible circular locking dependency detected|possible recursive locking detected|inconsistent lock state|possible irq lock inversion dependency detected|\S+-safe -> \S+-unsafe lock order detected|\S+/\d+ still has locks held!|Nested lock was not taken|bad contention detected!|bad unlock balance detected!|chain_key collision|held lock freed!|lock held when returning to user space!|suspicious RCU usage)$`),
		header{kind: Lockdep, end: endStack}},
	{regexp.MustCompile(`^\[ BUG: .* \]$`), header{kind: Lockdep, end: endStack}},
	{regexp.MustCompile(`^BUG: (?:sleeping function called from invalid context|scheduling while atomic|workqueue leaked lock|using smp_processor_id\(\) in preemptible|using __this_cpu_\w+\(\) in preemptible|spinlock |rwlock |held lock freed|MAX_LOCKDEP|MAX_STACK_TRACE|looking up invalid subclass|key \S+ has not been registered|Invalid wait context|bad unlock balance)`),
		header{kind: Lockdep, end: endStack}},
	// lib/bug.c: __report_bug ("kernel BUG at %s:%u!"), arch/x86/mm/fault.c.
	{regexp.MustCompile(`^(?:BUG: (?:unable to handle|kernel NULL pointer dereference|stack guard page|TASK stack guard page)|kernel BUG at |Unable to handle kernel )`),
		header{kind: Oops, end: endMarker, expectDie: true}},
	{regexp.MustCompile(`^BUG: Bad rss-counter state`), header{kind: Oops, end: endLine}},
	{regexp.MustCompile(`^BUG: `), header{kind: Oops, end: endStack}},
	// die(): "Oops: 0002 [#1] PREEMPT SMP", "general protection fault,
	// probably for non-canonical address 0x...: 0000 [#1] SMP KASAN",
	// "invalid opcode: 0000 [#1]", "Internal error: Oops: 96000004 [#1]",
	// and "Oops: Oops: 0000 [#1] SMP NOPTI" (arch/x86/kernel/dumpstack.c:
	// __die_header, "Oops: %s: %04lx [#%d]", after a page fault on 7.2).
	// s390 adds the instruction length: "Oops: 0004 ilc:3 [#1] SMP",
	// "monitor event: 0040 ilc:2 [#1] SMP" (arch/s390/kernel/dumpstack.c:
	// die, "%s: %04x ilc:%d [#%d] ").
	{regexp.MustCompile(`^\S.{0,200}: [0-9a-f]{4,16} (?:ilc:\d )?\[#\d+\]`), header{kind: Oops, end: endMarker, die: true}},
}

// The two forms of __warn's banner (kernel/panic.c). warnNew's tail
// (", CPU#0: tests.test/95") is the CPU, the task's comm and its pid.
var (
	warnOld = regexp.MustCompile(`^WARNING: (?:CPU: \d+ (?:UID: \d+ )?PID: \d+ )?at `)
	warnNew = regexp.MustCompile(`^WARNING: (?:\S+:\d+ )?at \S.*(, CPU#\d+: .*/\d+)$`)
)

// headerWords are in every header line: a line with none of them is no
// header, which saves running the rules on almost every console line.
var headerWords = []string{"BUG", "WARNING: ", "Kernel panic", "UBSAN: ", "LOCKUP", "INFO: ",
	"unreferenced object", "kmemleak: ", "refcount_t: ", "Unable to handle", "[#"}

// classify returns the header msg starts, if it starts one.
func classify(msg string) (header, bool) {
	msg = strings.TrimRight(msg, " \t")
	if !slices.ContainsFunc(headerWords, func(w string) bool { return strings.Contains(msg, w) }) {
		return header{}, false
	}
	for _, r := range rules {
		if r.re.MatchString(msg) {
			h := r.h
			h.title = cleanTitle(msg)
			return h, true
		}
	}
	return header{}, false
}

// warnSite matches where __warn says the warning is: "at x.c:12 f+0x1/0x2 [m]"
// or "at f+0x1/0x2 [m]" at the end of the line up to 6.12, "x.c:12 at
// f+0x1/0x2 [m], CPU#0: comm/12" on 7.2.
var warnSite = regexp.MustCompile(`(?::\d+ | at )([A-Za-z_$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[[\w.-]+\])?)(?:, CPU#\d+: .*/\d+)?\s*$`)

// warnFrame returns the function a WARN banner names, which
// architectures that print no RIP line do not repeat.
func warnFrame(msg string) *Frame {
	m := warnSite.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	f, ok := parseFrame(m[1])
	if !ok {
		return nil
	}
	return &f
}

var (
	warnCPU   = regexp.MustCompile(`^WARNING: CPU: \d+ (?:UID: \d+ )?PID: \d+ at `)
	slabTaint = regexp.MustCompile(`^(BUG \S+) \((?:Not tainted|Tainted: [^)]*)\)`)
)

// cleanTitle drops what differs between two hits of the same bug from a
// title where that is cheap: a WARNING's CPU, task and PID, the taint
// flags of a SLUB report, kmemleak's prefix.
func cleanTitle(msg string) string {
	msg = strings.TrimPrefix(msg, "kmemleak: ")
	if loc := warnCPU.FindStringIndex(msg); loc != nil {
		return "WARNING: at " + msg[loc[1]:]
	}
	if m := warnNew.FindStringSubmatchIndex(msg); m != nil {
		return msg[:m[2]]
	}
	if m := slabTaint.FindStringSubmatchIndex(msg); m != nil {
		return msg[:m[3]] + msg[m[1]:]
	}
	return msg
}

// consolePrefix matches what the console puts before a message: a /dev/kmsg
// record header, a syslog level, the timestamp and the caller id.
var consolePrefix = regexp.MustCompile(`^(?:\d+,\d+,\d+,[^;]*;)?(?:<\d+>)?(\[\s*\d+\.\d+\])?( ?\[\s*[TC]\d+\])?`)

// message returns line without its console prefix and line end. One space
// after the prefix is the separator; more belong to the message, which
// keeps the indentation of stack lines.
func message(line string) string {
	line = strings.TrimRight(line, "\r\n")
	if line == "" || line[0] != '[' && line[0] != '<' && (line[0] < '0' || line[0] > '9') {
		return line
	}
	loc := consolePrefix.FindStringIndex(line)
	if loc == nil || loc[1] == 0 {
		return line
	}
	return strings.TrimPrefix(line[loc[1]:], " ")
}

func isCutHere(msg string) bool {
	return strings.TrimSpace(msg) == "------------[ cut here ]------------"
}

// isRule reports whether msg is a "=====" line, which KASAN, KFENCE, UBSAN
// and lockdep print around their reports.
func isRule(msg string) bool {
	msg = strings.TrimSpace(msg)
	return len(msg) >= 20 && strings.Trim(msg, "=") == ""
}

func isEndTrace(msg string) bool {
	return strings.HasPrefix(strings.TrimSpace(msg), "---[ end trace")
}

func isEndPanic(msg string) bool {
	return strings.HasPrefix(strings.TrimSpace(msg), "---[ end Kernel panic")
}

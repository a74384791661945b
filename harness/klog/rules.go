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
// without its console prefix.
var rules = []rule{
	{regexp.MustCompile(`^Kernel panic - not syncing`), header{kind: Panic, end: endPanic}},
	{regexp.MustCompile(`^BUG: KASAN: `), header{kind: KASAN, end: endMarker}},
	{regexp.MustCompile(`^BUG: KFENCE: `), header{kind: KFENCE, end: endMarker}},
	{regexp.MustCompile(`^UBSAN: `), header{kind: UBSAN, end: endMarker}},
	{regexp.MustCompile(`BUG: soft lockup`), header{kind: SoftLockup, end: endStack}},
	{regexp.MustCompile(`Watchdog detected hard LOCKUP`), header{kind: HardLockup, end: endStack, expectWarn: true}},
	{regexp.MustCompile(`INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stall`), header{kind: RCUStall, end: endStack}},
	{regexp.MustCompile(`^INFO: task \S.* blocked for more than \d+ seconds`), header{kind: HungTask, end: endStack}},
	{regexp.MustCompile(`^BUG: workqueue lockup`), header{kind: HungTask, end: endStack}},
	{regexp.MustCompile(`^(?:kmemleak: )?unreferenced object 0x`), header{kind: Kmemleak, end: endIndent}},
	{regexp.MustCompile(`^kmemleak: \d+ new suspected memory leaks`), header{kind: Kmemleak, end: endLine, summary: true}},
	{regexp.MustCompile(`^refcount_t: `), header{kind: Refcount, end: endMarker, expectWarn: true}},
	{regexp.MustCompile(`^WARNING: (?:CPU: \d+ (?:UID: \d+ )?PID: \d+ )?at `), header{kind: Warning, end: endMarker, warn: true}},
	// Lockdep titles its reports "WARNING: <what>"; other "WARNING: "
	// lines without a CPU (the unwinder's complaints) are not splats.
	{regexp.MustCompile(`^WARNING: .*(?:lock|RCU)`), header{kind: Lockdep, end: endStack}},
	{regexp.MustCompile(`^\[ BUG: .* \]$`), header{kind: Lockdep, end: endStack}},
	{regexp.MustCompile(`^BUG: (?:sleeping function called from invalid context|scheduling while atomic|workqueue leaked lock|using smp_processor_id\(\) in preemptible|using __this_cpu_\w+\(\) in preemptible|spinlock |rwlock |held lock freed|MAX_LOCKDEP|MAX_STACK_TRACE|looking up invalid subclass|key \S+ has not been registered|Invalid wait context|bad unlock balance)`),
		header{kind: Lockdep, end: endStack}},
	{regexp.MustCompile(`^(?:BUG: (?:unable to handle|kernel NULL pointer dereference|stack guard page|TASK stack guard page)|kernel BUG at |Unable to handle kernel )`),
		header{kind: Oops, end: endMarker, expectDie: true}},
	{regexp.MustCompile(`^BUG: Bad rss-counter state`), header{kind: Oops, end: endLine}},
	{regexp.MustCompile(`^BUG: `), header{kind: Oops, end: endStack}},
	// die(): "Oops: 0002 [#1] PREEMPT SMP", "general protection fault,
	// probably for non-canonical address 0x...: 0000 [#1] SMP KASAN",
	// "invalid opcode: 0000 [#1]", "Internal error: Oops: 96000004 [#1]".
	{regexp.MustCompile(`^\S.{0,200}: [0-9a-f]{4,16} \[#\d+\]`), header{kind: Oops, end: endMarker, die: true}},
}

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

// warnSite matches where __warn says the warning is: "at x.c:12 f+0x1/0x2 [m]".
var warnSite = regexp.MustCompile(`:\d+ ([A-Za-z_$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[[\w.-]+\])?)\s*$`)

// warnFrame returns the function a "WARNING: CPU:" line names, which
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

var warnCPU = regexp.MustCompile(`^WARNING: CPU: \d+ (?:UID: \d+ )?PID: \d+ at `)

// cleanTitle drops what differs between two hits of the same bug from a
// title where that is cheap: a WARNING's CPU and PID, kmemleak's prefix.
func cleanTitle(msg string) string {
	msg = strings.TrimPrefix(msg, "kmemleak: ")
	if loc := warnCPU.FindStringIndex(msg); loc != nil {
		msg = "WARNING: at " + msg[loc[1]:]
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

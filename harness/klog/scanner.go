// SPDX-License-Identifier: MIT

package klog

import (
	"strings"
)

// Limits that keep a report whose end never comes from swallowing the log.
const (
	// maxLines bounds any report; KASAN's, the longest, take about 100.
	maxLines = 1000
	// maxBody bounds the lines of a report that ends after its call
	// trace before that trace starts; lockdep's chains take most.
	maxBody = 300
	// maxPanic bounds a panic report, which has no end marker with panic=-1.
	maxPanic = 200
	// maxPre bounds the lines between "cut here" and the WARNING header
	// (the WARN message).
	maxPre = 8
)

// A Scanner finds kernel reports in console output fed to it line by line,
// as it arrives. It is not safe for concurrent use.
type Scanner struct {
	n     int    // number of the last line
	cur   *state // the report being read
	pre   []line // a "cut here" or "=====" line and those after it
	leaks int    // kmemleak objects reported since kmemleak's last summary
	out   []Report
}

// line is one input line.
type line struct {
	num int
	raw string // as given, without the line end
	msg string // without the console prefix
}

// state is a report being read.
type state struct {
	r          Report
	end        ending
	expectWarn bool
	expectDie  bool
	body       int // lines read before the main call trace

	sawTrace  bool // a "Call Trace:" line was seen
	nextTrace bool // the next stack follows a "Call Trace:" line
	skipTrace bool // the next call trace is not the report's (RCU's kthread dump)
	inMain    bool // inside the main call trace of an endStack report
	mainLen   int  // frames read in the main call trace
	inRun     bool // the last line was part of a stack
	// resume: an interrupted task's "RIP:" line inside the main trace
	// (5.10, no <TASK> marker) was taken as a frame; its register dump
	// follows, then the rest of the task's stack, which continues the
	// same run.
	resume bool
	// lastBreak: the next line is s390's last breaking-event address
	// (isLastBreak), part of the report but of no stack.
	lastBreak bool
	irq       int    // depth of interrupt stack blocks
	runs      []run  // the stacks of the report
	rip       *Frame // where the CPU was, when printed before the trace
}

// run is one stack printed in a report.
type run struct {
	frames    []Frame
	callTrace bool // it follows "Call Trace:"
	skip      bool // it is not the report's own
}

// NewScanner returns a Scanner at the start of the console output.
func NewScanner() *Scanner { return &Scanner{} }

// Line scans the next console line, with or without its line end, and
// returns the reports this line completed: a report ends at its end marker,
// after its call trace, when its body stops being indented (kmemleak), or
// when the next report starts.
func (s *Scanner) Line(text string) []Report {
	s.n++
	l := line{num: s.n, raw: strings.TrimRight(text, "\r\n")}
	l.msg = message(l.raw)
	s.out = nil
	if s.cur == nil || !s.continueReport(l) {
		s.startOrSkip(l)
	}
	out := s.out
	s.out = nil
	return out
}

// Flush ends the input and returns the report still being read, if any.
func (s *Scanner) Flush() []Report {
	s.out = nil
	if s.cur != nil {
		c := s.cur
		truncated := true
		switch c.end {
		case endPanic, endIndent, endLine:
			truncated = false
		case endStack:
			truncated = !c.inMain || c.mainLen == 0
		}
		s.finish(truncated)
	}
	s.pre = nil
	out := s.out
	s.out = nil
	return out
}

// Open returns a copy of the report being read, or nil. A harness that
// must stop the guest (a timeout) can still say what the kernel was
// printing.
func (s *Scanner) Open() *Report {
	if s.cur == nil {
		return nil
	}
	r := s.cur.report(true)
	return &r
}

// Parse returns the reports in a whole console log.
func Parse(log string) []Report {
	s := NewScanner()
	var reports []Report
	for len(log) > 0 {
		i := strings.IndexByte(log, '\n')
		if i < 0 {
			i = len(log) - 1
		}
		reports = append(reports, s.Line(log[:i+1])...)
		log = log[i+1:]
	}
	return append(reports, s.Flush()...)
}

// startOrSkip handles a line outside any report.
func (s *Scanner) startOrSkip(l line) {
	h, ok := classify(l.msg)
	if !ok {
		s.notePre(l)
		return
	}
	c := &state{end: h.end, expectWarn: h.expectWarn, expectDie: h.expectDie}
	c.r = Report{Kind: h.kind, Title: h.title, StartLine: l.num}
	if n := len(s.pre); n > 0 && s.pre[n-1].num == l.num-1 {
		c.r.StartLine = s.pre[0].num
		for _, p := range s.pre {
			c.r.Lines = append(c.r.Lines, p.raw)
		}
	}
	s.pre = nil
	s.cur = c
	c.add(l)
	c.body = 0
	if h.warn {
		c.rip = warnFrame(l.msg)
	}
	if h.end == endLine {
		if h.summary && s.leaks > 0 {
			// kmemleak printed the objects: its summary adds nothing.
			s.cur, s.leaks = nil, 0
			return
		}
		s.finish(false)
	}
	if h.summary {
		s.leaks = 0
	}
}

// notePre remembers the lines that may turn out to be the start of the
// next report: "cut here" and the WARN message after it, or a "=====" rule,
// which the header follows at once.
func (s *Scanner) notePre(l line) {
	switch {
	case isCutHere(l.msg) || isRule(l.msg):
		s.pre = append(s.pre[:0], l)
	case len(s.pre) > 0 && len(s.pre) < maxPre && isCutHere(s.pre[0].msg):
		s.pre = append(s.pre, l)
	default:
		s.pre = nil
	}
}

// continueReport offers l to the report being read and says whether the
// report took it. When it did not, the report has ended before l.
func (s *Scanner) continueReport(l line) bool {
	c := s.cur
	switch {
	case isEndTrace(l.msg) || c.r.Kind == Panic && isEndPanic(l.msg):
		c.add(l)
		s.finish(false)
		return true
	case isRule(l.msg) && (c.r.Kind == KASAN || c.r.Kind == KFENCE || c.r.Kind == KMSAN || c.r.Kind == KCSAN || c.r.Kind == UBSAN):
		c.add(l)
		s.finish(false)
		return true
	}
	if h, ok := classify(l.msg); ok {
		if c.absorbs(h) {
			c.add(l)
			return true
		}
		s.endBefore(l)
		return false
	}
	if isCutHere(l.msg) {
		if c.expectWarn && !c.sawTrace {
			// The WARN_ON(1) that ends a SLUB report on 6.12 and 7.2
			// (mm/slub.c: object_err, __slab_err) prints its own "cut
			// here" after the report's header.
			c.add(l)
			return true
		}
		s.endBefore(l)
		return false
	}
	switch c.end {
	case endIndent:
		m := strings.TrimPrefix(l.msg, "kmemleak: ")
		if !strings.HasPrefix(m, " ") && !strings.HasPrefix(m, "\t") {
			s.finish(false)
			return false
		}
	case endStack:
		if c.inMain {
			if !stackLine(l.msg) && !(c.lastBreak && lastBreakAddr.MatchString(l.msg)) {
				s.finish(false)
				return false
			}
			c.add(l)
			if strings.TrimSpace(l.msg) == "</TASK>" && c.mainLen > 0 {
				s.finish(false)
			}
			s.notePre(l)
			return true
		}
		if c.body >= maxBody {
			s.finish(true)
			return false
		}
	case endPanic:
		if c.body >= maxPanic {
			s.finish(false)
			return false
		}
	}
	c.add(l)
	if len(c.r.Lines) >= maxLines {
		s.finish(true)
	}
	s.notePre(l)
	return true
}

// endBefore ends the report being read before l, which starts another.
// Lines the report took that belong to the next one ("cut here" and the
// WARN message) go back to it.
func (s *Scanner) endBefore(l line) {
	c := s.cur
	if n := len(s.pre); n > 0 && s.pre[n-1].num == l.num-1 && s.pre[0].num > c.r.StartLine {
		drop := c.r.EndLine - s.pre[0].num + 1
		if drop > 0 && drop < len(c.r.Lines) {
			c.r.Lines = c.r.Lines[:len(c.r.Lines)-drop]
			c.r.EndLine -= drop
		}
	}
	truncated := true
	switch c.end {
	case endIndent, endLine:
		truncated = false
	case endStack:
		truncated = !c.inMain || c.mainLen == 0
	}
	s.finish(truncated)
}

// finish ends the report being read.
func (s *Scanner) finish(truncated bool) {
	c := s.cur
	s.cur = nil
	if c.r.Kind == Kmemleak && c.end == endIndent {
		s.leaks++
	}
	s.out = append(s.out, c.report(truncated))
}

// absorbs reports whether header h continues the report instead of
// starting another: __warn's line after refcount_t's message, die()'s
// line after "BUG: unable to handle page fault".
func (c *state) absorbs(h header) bool {
	if c.sawTrace {
		return false
	}
	switch {
	case h.warn && c.expectWarn:
		c.expectWarn = false
		c.end = endMarker
		if c.rip == nil {
			c.rip = warnFrame(h.title)
		}
		return true
	case h.die && c.expectDie:
		c.expectDie = false
		c.end = endMarker
		return true
	}
	return false
}

// add appends l to the report and follows its stacks.
func (c *state) add(l line) {
	c.r.Lines = append(c.r.Lines, l.raw)
	c.r.EndLine = l.num
	if !c.inMain {
		c.body++
	}
	msg := l.msg
	if c.r.Kind == Kmemleak {
		// With kmemleak.verbose=1 every console line has the prefix.
		msg = strings.TrimPrefix(msg, "kmemleak: ")
	}
	if c.lastBreak {
		c.lastBreak = false
		if lastBreakAddr.MatchString(msg) {
			return
		}
	}
	if f, ok := parseFrame(msg); ok {
		if c.resume {
			c.inRun, c.resume = true, false
		}
		if !c.inRun {
			c.runs = append(c.runs, run{callTrace: c.nextTrace && !c.skipTrace, skip: c.skipTrace})
			c.nextTrace, c.skipTrace = false, false
			c.inRun = true
		}
		f.Interrupt = c.irq > 0
		r := &c.runs[len(c.runs)-1]
		r.frames = append(r.frames, f)
		if c.inMain {
			c.mainLen++
		}
		return
	}
	msg = strings.TrimSpace(msg)
	if m := bracket.FindStringSubmatch(msg); m != nil {
		switch {
		case m[2] == "TASK" || m[2] == "EOI" || m[2] == "EOE":
			c.irq = 0
		case m[1] == "/":
			c.irq = max(c.irq-1, 0)
		default:
			c.irq++
		}
		return
	}
	if rawFrame.MatchString(msg) {
		return
	}
	if c.sawTrace && c.inRun && c.irq == 0 && strings.HasPrefix(msg, "RIP: 0010:") {
		// Where the interrupt came in, after </IRQ> (arch/x86/kernel/
		// dumpstack.c show_trace_log_lvl prints the interrupted regs
		// on kernels without <TASK>): the culprit of a stall.
		if f, ok := parseRIP(msg); ok {
			r := &c.runs[len(c.runs)-1]
			r.frames = append(r.frames, f)
			c.resume = true
			return
		}
	}
	if c.resume && register.MatchString(msg) {
		return
	}
	c.resume = false
	c.inRun = false
	switch {
	case strings.EqualFold(msg, "Call Trace:"):
		c.irq = 0
		if c.skipTrace {
			return // the run that follows is marked skip
		}
		c.sawTrace = true
		c.nextTrace = true
		if c.end == endStack {
			c.inMain = true
		}
	case isLastBreak(msg):
		c.lastBreak = true
	case strings.HasSuffix(msg, "grace-period kthread stack dump:"):
		// RCU prints its kthread's stack before the stalled CPU's.
		c.skipTrace = true
	case c.rip == nil && !c.sawTrace:
		if f, ok := parseRIP(msg); ok {
			c.rip = &f
		}
	}
}

// report returns the report as read so far.
func (c *state) report(truncated bool) Report {
	r := c.r
	r.Lines = append([]string(nil), c.r.Lines...)
	r.Truncated = truncated
	if main := c.mainRun(); main != nil {
		r.Trace = append([]Frame(nil), main.frames...)
		for _, f := range main.frames {
			r.Frames = append(r.Frames, f.Func)
		}
	}
	r.Fingerprint = fingerprint(r.Kind, r.Title, c.rip, r.Trace)
	return r
}

// mainRun is the stack after the first "Call Trace:", else the first stack.
func (c *state) mainRun() *run {
	for i := range c.runs {
		if c.runs[i].callTrace {
			return &c.runs[i]
		}
	}
	for i := range c.runs {
		if !c.runs[i].skip {
			return &c.runs[i]
		}
	}
	return nil
}

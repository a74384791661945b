// SPDX-License-Identifier: MIT

package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// knownReport is a kernel report that is a known kernel bug
// (docs/connector.md, Known kernel bugs): a run that meets it is not
// failed for it but lists it, as a guest test lists a known bug it
// observes.
type knownReport struct {
	id    string
	kind  klog.Kind
	frame string // a function of the report's call trace
	text  string
}

var knownReports = []knownReport{{
	id:    "cn-proc-skdata-leak",
	kind:  klog.Kmemleak,
	frame: "cn_proc_mcast_ctl",
	text: "kmemleak: the 8-byte sk_user_data a PROC_CN_MCAST_LISTEN from a socket outside group 1 allocates leaks " +
		"(drivers/connector/cn_proc.c cn_proc_mcast_ctl, 6.6 and later; cn_release frees it only for members)",
}}

// known returns the known bug a kernel report is, if it is one.
func known(r klog.Report) (knownReport, bool) {
	for _, k := range knownReports {
		if r.Kind == k.kind && slices.ContainsFunc(r.Frames, func(f string) bool { return strings.HasPrefix(f, k.frame) }) {
			return k, true
		}
	}
	return knownReport{}, false
}

// expectedBy returns the known bug that test said it would trigger and
// that r shows: r's call trace has the function the test named.
func expectedBy(rec *report.Recorder, test string, r klog.Report) (knownReport, bool) {
	if test == "" {
		return knownReport{}, false
	}
	for _, e := range rec.ExpectedBugs(test) {
		if slices.ContainsFunc(r.Frames, func(f string) bool { return f == e.Frame || strings.HasPrefix(f, e.Frame+".") }) {
			return knownReport{id: e.ID, kind: r.Kind, frame: e.Frame,
				text: fmt.Sprintf("%s, as the test expected: %s", r.Kind, r.Title)}, true
		}
	}
	return knownReport{}, false
}

// taintOf is the taint a report of kind k sets (kernel/panic.c
// add_taint callers: oops_end and die for an oops or BUG, __warn for a
// WARNING, the soft-lockup watchdog for its report).
func taintOf(k klog.Kind) klog.Taint {
	switch k {
	case klog.Oops:
		return klog.TaintDie
	case klog.Warning, klog.Lockdep, klog.Refcount:
		return klog.TaintWarn
	case klog.SoftLockup:
		return klog.TaintSoftLockup
	}
	return 0
}

// splitKnown separates the reports that are known kernel bugs from the
// others and records them with the recorder: the reports of knownReports,
// and those a test said it would trigger. explained holds, by test ("" for
// the run), the taint that the known bugs' reports account for.
func splitKnown(rec *report.Recorder, found []attributed) (unknown []attributed, explained map[string]klog.Taint) {
	explained = map[string]klog.Taint{}
	found = dropLeakSummaries(found)
	for _, r := range found {
		k, ok := known(r.Report)
		if !ok {
			k, ok = expectedBy(rec, r.Test, r.Report)
		}
		if !ok {
			unknown = append(unknown, r)
			continue
		}
		explained[r.Test] |= taintOf(r.Kind)
		explained[""] |= taintOf(r.Kind)
		test := r.Test
		if test == "" {
			test = "the run"
		}
		rec.AddKnownBug(report.KnownBug{ID: k.id, Test: test, Text: k.text})
	}
	return unknown, explained
}

// dropLeakSummaries leaves out kmemleak's "N new suspected memory leaks"
// lines of the runner's scan after the run when the objects themselves are
// among the reports, as the runner lists them: each object is then judged
// on its own backtrace, known or not, and the count adds nothing. A
// summary during a test (the test scanned) stays the test's.
func dropLeakSummaries(found []attributed) []attributed {
	objects := slices.ContainsFunc(found, func(r attributed) bool {
		return r.Kind == klog.Kmemleak && !isLeakSummary(r.Report)
	})
	if !objects {
		return found
	}
	return slices.DeleteFunc(slices.Clone(found), func(r attributed) bool {
		return r.Kind == klog.Kmemleak && isLeakSummary(r.Report) && r.Test == ""
	})
}

func isLeakSummary(r klog.Report) bool {
	return strings.Contains(r.Title, "new suspected memory leaks")
}

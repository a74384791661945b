package harness

import (
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

// splitKnown separates the reports that are known kernel bugs from the
// others and records them with the recorder.
func splitKnown(rec *report.Recorder, found []attributed) (unknown []attributed) {
	for _, r := range found {
		k, ok := known(r.Report)
		if !ok {
			unknown = append(unknown, r)
			continue
		}
		test := r.Test
		if test == "" {
			test = "(the run)"
		}
		rec.AddKnownBug(report.KnownBug{ID: k.id, Test: test, Text: k.text})
	}
	return unknown
}

// SPDX-License-Identifier: MIT

package harness

import (
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/report"
)

// TestKnownLeakIsListedNotFailed checks that kmemleak's report of the
// cn_proc sk_user_data leak becomes a known bug of the run, while another
// leak stays a kernel report.
func TestKnownLeakIsListedNotFailed(t *testing.T) {
	leak := func(fn string) attributed {
		return attributed{Report: klog.Report{Kind: klog.Kmemleak, Title: "unreferenced object 0xffff (size 8):",
			Frames: []string{"__kmalloc_cache_noprof", fn, "cn_rx_skb", "netlink_unicast"}}}
	}
	rec := report.NewRecorder(report.Options{})
	summary := klog.Report{Kind: klog.Kmemleak, Title: "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"}
	left, _ := splitKnown(rec, []attributed{{Report: summary}, {Report: summary, Test: "TestX"}, leak("cn_proc_mcast_ctl"), leak("cn_echo_callback")})
	if len(left) != 2 || left[0].Test != "TestX" || left[1].Frames[1] != "cn_echo_callback" {
		t.Fatalf("reports left = %+v, want the test's own summary and the unknown leak", left)
	}
	bugs := rec.Summary().KnownBugs
	if len(bugs) != 1 || bugs[0].ID != "cn-proc-skdata-leak" || bugs[0].Test != "the run" {
		t.Errorf("known bugs = %+v", bugs)
	}
}

// TestExpectedBugExplainsItsReport checks that an oops a test said it
// would trigger is that known bug, with its taint explained for that test
// only, while the same oops in another test stays a report.
func TestExpectedBugExplainsItsReport(t *testing.T) {
	rec := report.NewRecorder(report.Options{Package: "p"})
	for _, e := range []report.Event{
		{Action: "run", Package: "p", Test: "TestT34"},
		{Action: "output", Package: "p", Test: "TestT34", Output: "    m_test.go:1: known kernel bug expected: cn-unload-oops: cn_rx_skb\n"},
		{Action: "pass", Package: "p", Test: "TestT34"},
	} {
		rec.Event(e)
	}
	oops := klog.Report{Kind: klog.Oops, Title: "BUG: unable to handle page fault for address: ffffffffc0201000",
		Frames: []string{"0xffffffffc0201000", "cn_rx_skb", "netlink_unicast"}}
	left, explained := splitKnown(rec, []attributed{{Report: oops, Test: "TestT34"}, {Report: oops, Test: "TestOther"}})
	if len(left) != 1 || left[0].Test != "TestOther" {
		t.Fatalf("reports left = %+v, want the other test's only", left)
	}
	if explained["TestT34"] != klog.TaintDie || explained["TestOther"] != 0 || explained[""] != klog.TaintDie {
		t.Errorf("explained taint = %v", explained)
	}
	bugs := rec.Summary().KnownBugs
	if len(bugs) != 1 || bugs[0].ID != "cn-unload-oops" || bugs[0].Test != "TestT34" {
		t.Errorf("known bugs = %+v", bugs)
	}
}

func TestCoverFiles(t *testing.T) {
	dir, profile := coverFiles([]string{"-test.paniconexit0", "-test.gocoverdir=/tmp/go-build1/b001/gocoverdir", "-test.coverprofile=/tmp/go-build1/b001/_cover_.out", "-test.v=true"})
	if dir != "/tmp/go-build1/b001/gocoverdir" || profile != "/tmp/go-build1/b001/_cover_.out" {
		t.Errorf("coverFiles = %q, %q", dir, profile)
	}
	if dir, profile := coverFiles([]string{"-test.v=true"}); dir != "" || profile != "" {
		t.Errorf("coverFiles without -cover = %q, %q", dir, profile)
	}
}

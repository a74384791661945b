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
	left := splitKnown(rec, []attributed{leak("cn_proc_mcast_ctl"), leak("cn_echo_callback")})
	if len(left) != 1 || left[0].Frames[1] != "cn_echo_callback" {
		t.Fatalf("reports left = %+v, want only the unknown leak", left)
	}
	bugs := rec.Summary().KnownBugs
	if len(bugs) != 1 || bugs[0].ID != "cn-proc-skdata-leak" || bugs[0].Test != "(the run)" {
		t.Errorf("known bugs = %+v", bugs)
	}
}

// SPDX-License-Identifier: MIT

package selftest

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/klog"
)

// The host-side parts of the fault table, without a VM.

func TestNeedGuestTest(t *testing.T) {
	if why := needGuestTest("TestWarn")(t); why != "" {
		t.Errorf("TestWarn is in the guest package, but needGuestTest says %q", why)
	}
	why := needGuestTest("TestNoSuchGuestTest")(t)
	if !strings.Contains(why, "TestNoSuchGuestTest") {
		t.Errorf("needGuestTest for a missing test says %q, want the test named", why)
	}
}

// The reports attached to a JUnit case, as problem() in harness/report
// writes them: one "<title> [<fingerprint>]" a line, before the output.
func TestJUnitCaseReports(t *testing.T) {
	c := junitCase{Name: "TestWarn", Failure: &junitProblem{Type: "KERNEL_SPLAT", Text: "" +
		"WARNING: cn_fault.c:130 at cn_fault_warn+0x46/0x70 [cn_fault] [WARNING|cn_fault_warn|cn_rx_skb|netlink_unicast]\n" +
		"kernel tainted during the test: G        W\n" +
		"\n=== RUN   TestWarn\n    fault_linux_test.go:44: WARN_ON(1) done [not a report]\n"}}
	got := c.reports()
	if len(got) != 1 {
		t.Fatalf("reports() = %+v, want the one WARNING", got)
	}
	r := got[0]
	if r.kind != klog.Warning || r.title != "WARNING: cn_fault.c:130 at cn_fault_warn+0x46/0x70 [cn_fault]" ||
		!slices.Equal(r.frames, []string{"cn_fault_warn", "cn_rx_skb", "netlink_unicast"}) {
		t.Errorf("reports()[0] = %+v", r)
	}
	taintOnly := junitCase{Name: "TestWarn", Failure: &junitProblem{Type: "KERNEL_SPLAT", Text: "kernel tainted during the test: G        W\n"}}
	if rs := taintOnly.reports(); len(rs) != 0 {
		t.Errorf("a taint-only failure has reports %+v", rs)
	}
}

// The gate serves waiters by priority, then in the order they came, and
// never lets more than its slots through.
func TestGate(t *testing.T) {
	g := newGate(1)
	g.acquire(0) // the one slot
	order := make(chan string, 3)
	queued := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiting)
	}
	// wait starts a waiter and returns once it is in the queue, so that
	// the arrival order is the order of the calls.
	wait := func(name string, prio int) {
		n := queued()
		go func() {
			g.acquire(prio)
			order <- name
			g.release()
		}()
		for queued() == n {
			runtime.Gosched()
		}
	}
	wait("short1", 0)
	wait("short2", 0)
	wait("long", 1)
	select {
	case name := <-order:
		t.Fatalf("%s got a slot while the only one was held", name)
	default:
	}
	g.release()
	var got []string
	for range 3 {
		got = append(got, <-order)
	}
	if want := []string{"long", "short1", "short2"}; !slices.Equal(got, want) {
		t.Errorf("served %v, want %v", got, want)
	}
}

// A kernel option counts only when the .config sets it to y: a module
// (=m), a comment that names it unset, or a longer option's name do not.
func TestHasOption(t *testing.T) {
	config := []byte("#\n# CONFIG_SOFTLOCKUP_DETECTOR is not set\nCONFIG_DETECT_HUNG_TASK=y\n" +
		"CONFIG_VIRTIO_CONSOLE=m\nCONFIG_LOCKUP_DETECTOR_X=y\nCONFIG_HZ=250\n")
	for _, tt := range []struct {
		option string
		want   bool
	}{
		{"CONFIG_DETECT_HUNG_TASK", true},
		{"CONFIG_SOFTLOCKUP_DETECTOR", false},
		{"CONFIG_VIRTIO_CONSOLE", false},
		{"CONFIG_LOCKUP_DETECTOR", false},
		{"CONFIG_HZ", false},
	} {
		if got := hasOption(config, tt.option); got != tt.want {
			t.Errorf("hasOption(%s) = %v, want %v", tt.option, got, tt.want)
		}
	}
}

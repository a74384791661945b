// SPDX-License-Identifier: MIT

package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/klog"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// feed builds a stream that saw the given control records and test events.
func feed(records []guest.Record, events ...report.Event) *stream {
	s := &stream{rec: report.NewRecorder(report.Options{})}
	for _, r := range records {
		s.line(r.Encode())
	}
	for _, e := range events {
		s.rec.Event(e)
	}
	return s
}

func pass(name string) []report.Event {
	return []report.Event{
		{Action: "run", Test: name},
		{Action: "pass", Test: name, Elapsed: 0.1},
	}
}

func TestJudge(t *testing.T) {
	const oe = uint64(klog.TaintOOTModule | klog.TaintUnsignedModule)
	full := func(exit int, taint uint64) []guest.Record {
		return []guest.Record{
			{Event: guest.EvBoot, Kernel: "6.1.0-57-amd64"},
			{Event: guest.EvModule, Taint: oe},
			{Event: guest.EvStart},
			{Event: guest.EvExit, Status: exit},
			{Event: guest.EvUnload},
			{Event: guest.EvDone, Taint: taint},
		}
	}
	oops := klog.Parse("BUG: unable to handle page fault for address: ffffffffa00001c1\n" +
		"#PF: supervisor instruction fetch in kernel mode\nOops: 0010 [#1] PREEMPT SMP NOPTI\n" +
		"Call Trace:\n <TASK>\n ? cn_rx_skb+0xd3/0x120\n ? netlink_unicast+0x10b/0x1c0\n </TASK>\n---[ end trace 0000000000000000 ]---\n")
	panicked := klog.Parse("Kernel panic - not syncing: Fatal exception\n")
	if len(oops) != 1 || len(panicked) != 1 {
		t.Fatalf("sample reports: got %d oops, %d panic reports", len(oops), len(panicked))
	}
	tests := []struct {
		name    string
		s       *stream
		exit    vm.Exit
		reports []klog.Report
		exec    bool
		want    report.Outcome
	}{
		{name: "all passed", s: feed(full(0, oe), pass("TestA")...), want: report.Pass},
		{name: "test failed", s: feed(full(1, oe), report.Event{Action: "run", Test: "TestA"},
			report.Event{Action: "fail", Test: "TestA"}), want: report.Fail},
		{name: "binary failed without a failing test", s: feed(full(2, oe), pass("TestA")...), want: report.Fail},
		{name: "nothing ran", s: feed(full(0, oe)), want: report.Skip},
		{name: "no boot", s: feed(nil), want: report.BootFail},
		{name: "timeout", s: feed(nil), exit: vm.Exit{TimedOut: true}, want: report.Timeout},
		{name: "module did not load", s: feed([]guest.Record{{Event: guest.EvBoot}, {Event: guest.EvModule, Error: "finit_module: exec format error"}, {Event: guest.EvDone}}),
			want: report.ModuleLoadFail},
		{name: "runner failed", s: feed([]guest.Record{{Event: guest.EvBoot}, {Event: guest.EvError, Error: "no config"}, {Event: guest.EvDone}}),
			want: report.Infra},
		{name: "guest died mid-run", s: feed(full(0, oe)[:3], pass("TestA")...), want: report.Infra},
		{name: "oops", s: feed(full(0, oe), pass("TestA")...), reports: oops, want: report.KernelSplat},
		{name: "panic beats timeout", s: feed(full(0, oe)[:3]), exit: vm.Exit{TimedOut: true}, reports: panicked, want: report.KernelPanic},
		{name: "panic before the runner is a boot failure", s: feed(nil), reports: panicked, want: report.BootFail},
		{name: "new taint W", s: feed(full(0, oe|uint64(klog.TaintWarn)), pass("TestA")...), want: report.KernelSplat},
		{name: "unload failed", s: feed(append(full(0, oe)[:4], guest.Record{Event: guest.EvUnload, Error: "delete_module: resource busy"}, guest.Record{Event: guest.EvDone, Taint: oe}), pass("TestA")...),
			want: report.Fail},
		{name: "interrupted", s: feed(full(0, oe)[:3], pass("TestA")...), exit: vm.Exit{Err: context.Canceled}, want: report.Infra},
		{name: "exec with non-zero status still ran", s: feed(full(3, oe)), exec: true, want: report.Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &run{init: InitRunner}
			if tt.exec {
				r.o.Exec = []string{"/bin/prog"}
			}
			exit := tt.exit
			exit.Elapsed = time.Second
			got, reason := r.judge(tt.s, &exit, tt.reports)
			if got != tt.want {
				t.Fatalf("judge = %s (%s), want %s", got, reason, tt.want)
			}
			if got != report.Pass && reason == "" {
				t.Errorf("judge gave %s without a reason", got)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	o := &Options{}
	vmT, binT, stall := o.timeouts(vm.TCG)
	if vmT != 10*time.Minute || binT >= runnerDeadline(vmT) || runnerDeadline(vmT) >= vmT {
		t.Errorf("TCG timeouts = %s, %s, deadline %s: want the binary's before the runner's before the guest's", vmT, binT, runnerDeadline(vmT))
	}
	vmK, _, stallK := o.timeouts(vm.KVM)
	if vmK >= vmT || stallK >= stall {
		t.Errorf("KVM timeouts %s/%s not shorter than TCG's %s/%s", vmK, stallK, vmT, stall)
	}
	o = &Options{Timeout: time.Minute, TestTimeout: 20 * time.Second}
	if _, binT, stall := o.timeouts(vm.TCG); binT >= time.Minute || stall != 20*time.Second {
		t.Errorf("timeouts(1m, 20s) = binary %s, stall %s", binT, stall)
	}
}

func TestJudgeHang(t *testing.T) {
	s := feed([]guest.Record{
		{Event: guest.EvBoot}, {Event: guest.EvModule}, {Event: guest.EvStart},
		{Event: guest.EvHang, Test: "TestStuck", Error: "no test started or ended for 3m0s"},
		{Event: guest.EvExit, Status: 137}, {Event: guest.EvDone},
	})
	got, reason := (&run{init: InitRunner}).judge(s, &vm.Exit{}, nil)
	if got != report.Timeout || reason == "" {
		t.Fatalf("judge = %s (%s), want TIMEOUT with a reason", got, reason)
	}
}

// When the runner is the guest's init, its death panics the kernel: the
// reason must say whose death it was.
func TestJudgeRunnerDiedAsInit(t *testing.T) {
	died := klog.Parse("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200\n")
	if len(died) != 1 {
		t.Fatalf("sample report: got %d reports", len(died))
	}
	for _, tt := range []struct {
		init Init
		want string
	}{{init: InitRunner, want: "the cnvmtest runner"}, {init: InitURoot}} {
		r := &run{init: tt.init}
		got, reason := r.judge(feed(nil), &vm.Exit{}, died)
		if got != report.KernelPanic {
			t.Errorf("init %s: judge = %s (%s), want %s", tt.init, got, reason, report.KernelPanic)
		}
		if has := strings.Contains(reason, "the cnvmtest runner"); has != (tt.want != "") {
			t.Errorf("init %s: reason %q, want the runner named: %v", tt.init, reason, tt.want != "")
		}
	}
}

// SPDX-License-Identifier: MIT

package klog_test

import (
	"fmt"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/klog"
)

// The harness feeds console lines as they come and gets each report when
// it is complete.
func ExampleScanner() {
	console := `[   55.001000] ------------[ cut here ]------------
[   55.001200] WARNING: CPU: 0 PID: 170 at /work/kmod/cn_echo.c:142 cn_echo_exit+0x5a/0x70 [cn_echo]
[   55.001600] RIP: 0010:cn_echo_exit+0x5a/0x70 [cn_echo]
[   55.002500] Call Trace:
[   55.002550]  <TASK>
[   55.002950]  ? cn_echo_exit+0x5a/0x70 [cn_echo]
[   55.003000]  __do_sys_delete_module.isra.0+0x1a3/0x2e0
[   55.003050]  do_syscall_64+0x58/0x120
[   55.003600]  </TASK>
[   55.003650] ---[ end trace 0000000000000000 ]---
[   55.004000] cnvmtest: --- PASS TestUnload
`
	s := klog.NewScanner()
	for i, line := range strings.SplitAfter(console, "\n") {
		for _, r := range s.Line(line) {
			fmt.Printf("line %d: %s\n", i+1, r)
			fmt.Printf("lines %d-%d, %s\n", r.StartLine, r.EndLine, r.Fingerprint)
		}
	}
	s.Flush()
	// Output:
	// line 10: WARNING: WARNING: at /work/kmod/cn_echo.c:142 cn_echo_exit+0x5a/0x70 [cn_echo]
	// lines 1-10, WARNING|cn_echo_exit|__do_sys_delete_module
}

// A test that loads the module expects its taints and no others.
func ExampleTaint_Unexpected() {
	before, _ := klog.ParseTaint("0\n")
	after, _ := klog.ParseTaint("12800\n") // read from /proc/sys/kernel/tainted
	fmt.Println(after)
	fmt.Println(after.Unexpected(before | klog.ModuleTaints))
	// Output:
	// Tainted: G        W  OE
	// Tainted: G        W
}

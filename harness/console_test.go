// SPDX-License-Identifier: MIT

package harness

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const markedConsole = `[    4.700000] cnvmtest: program start: /cnvm/tests.test
[    4.710000] cnvmtest: begin TestA
[    4.720000] cnvmtest: begin TestA/sub
[    4.730000] ------------[ cut here ]------------
[    4.730001] WARNING: CPU: 0 PID: 77 at drivers/connector/connector.c:120 cn_netlink_send_mult+0x1a/0x30
[    4.730002] Call Trace:
[    4.730003]  <TASK>
[    4.730004]  cn_netlink_send_mult+0x1a/0x30
[    4.730005]  cn_echo_callback+0x40/0x90 [cn_echo]
[    4.730006]  </TASK>
[    4.730007] ---[ end trace 0000000000000000 ]---
[    4.740000] cnvmtest: end TestA/sub
[    4.750000] cnvmtest: end TestA
[    4.760000] cnvmtest: begin TestB
[    4.770000] cnvmtest: end TestB
[    4.780000] BUG: unable to handle page fault for address: ffffffffa00001c1
[    4.780001] #PF: supervisor instruction fetch in kernel mode
[    4.780002] Call Trace:
[    4.780003]  <TASK>
[    4.780004]  ? cn_rx_skb+0xd3/0x120
[    4.780005]  </TASK>
[    4.780006] ---[ end trace 0000000000000000 ]---
[    4.790000] cnvmtest: begin TestC
[    4.800000] still running when the guest died
`

func TestConsoleAttribution(t *testing.T) {
	c, err := newConsole(filepath.Join(t.TempDir(), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Feed in odd pieces, as a serial port delivers them.
	for _, chunk := range strings.SplitAfter(markedConsole, "0]") {
		c.Write([]byte(chunk))
	}
	found, slices := c.finish()
	var got []string
	for _, r := range found {
		got = append(got, string(r.Kind)+" in "+r.Test)
	}
	want := []string{"WARNING in TestA/sub", "OOPS in "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected attribution (-want +got):\n%s", diff)
	}
	if !strings.Contains(slices["TestA"], "WARNING: CPU: 0") || !strings.HasSuffix(slices["TestA"], "cnvmtest: end TestA") {
		t.Errorf("TestA's slice is wrong:\n%s", slices["TestA"])
	}
	if strings.Contains(slices["TestB"], "WARNING") {
		t.Errorf("TestB's slice holds TestA's warning:\n%s", slices["TestB"])
	}
	if !strings.HasSuffix(slices["TestC"], "still running when the guest died") {
		t.Errorf("unfinished TestC's slice does not run to the end:\n%s", slices["TestC"])
	}
}

// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"slices"
	"strings"
	"testing"
)

// TestScanLeaks checks that the runner scans twice before it reads, that
// one object of each backtrace reaches the console as kmemleak printed it
// (the host's scanner reads "unreferenced object" reports), and that the
// others are counted, not printed.
func TestScanLeaks(t *testing.T) {
	obj := func(addr, fn string) string {
		return "unreferenced object 0xffff8880" + addr + " (size 8):\n  comm \"tests.test\", pid 95, jiffies 4294893102\n" +
			"  backtrace (crc 0):\n    __kmalloc_cache_noprof+0x164/0x19a\n    " + fn + "+0x261/0x525\n"
	}
	list := obj("03a1c2a8", "cn_proc_mcast_ctl") + obj("03a1c2b0", "cn_proc_mcast_ctl") + obj("03a1c2c0", "cn_echo_callback") + obj("03a1c2c8", "cn_proc_mcast_ctl")
	scans := 0
	var printed []string
	scanLeaks(func() error { scans++; return nil },
		func() ([]byte, error) {
			if scans != 2 {
				t.Errorf("read after %d scans, want 2", scans)
			}
			return []byte(list), nil
		},
		func(s string) { printed = append(printed, s) })
	want := []string{
		"cnvmtest: kmemleak: scanning after the run",
		"unreferenced object 0xffff888003a1c2a8 (size 8):",
		`  comm "tests.test", pid 95, jiffies 4294893102`,
		"  backtrace (crc 0):",
		"    __kmalloc_cache_noprof+0x164/0x19a",
		"    cn_proc_mcast_ctl+0x261/0x525",
		"cnvmtest: kmemleak: 2 more unreferenced objects with the same size and backtrace",
		"unreferenced object 0xffff888003a1c2c0 (size 8):",
		`  comm "tests.test", pid 95, jiffies 4294893102`,
		"  backtrace (crc 0):",
		"    __kmalloc_cache_noprof+0x164/0x19a",
		"    cn_echo_callback+0x261/0x525",
	}
	if !slices.Equal(printed, want) {
		t.Errorf("printed:\n%s\nwant:\n%s", strings.Join(printed, "\n"), strings.Join(want, "\n"))
	}
}

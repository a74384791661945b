//go:build linux

package runner

import (
	"slices"
	"testing"
)

// TestScanLeaks checks that the runner scans twice before it reads, and
// that every line kmemleak lists reaches the console as it is, where the
// host's scanner reads "unreferenced object" reports.
func TestScanLeaks(t *testing.T) {
	report := "unreferenced object 0xffff888003a1c2a8 (size 8):\n  comm \"tests.test\", pid 95, jiffies 4294893102\n  backtrace (crc 0):\n    [<ffffffff81>] __kmalloc+0x1/0x2\n"
	scans := 0
	var printed []string
	scanLeaks(func() error { scans++; return nil },
		func() ([]byte, error) {
			if scans != 2 {
				t.Errorf("read after %d scans, want 2", scans)
			}
			return []byte(report), nil
		},
		func(s string) { printed = append(printed, s) })
	want := []string{
		"cnvmtest: kmemleak: scanning after the run",
		"unreferenced object 0xffff888003a1c2a8 (size 8):",
		`  comm "tests.test", pid 95, jiffies 4294893102`,
		"  backtrace (crc 0):",
		"    [<ffffffff81>] __kmalloc+0x1/0x2",
	}
	if !slices.Equal(printed, want) {
		t.Errorf("printed %q\nwant %q", printed, want)
	}
}

// SPDX-License-Identifier: MIT

package debpkg

import (
	"os/exec"
	"testing"
)

var versionTests = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0},
	{"1.0", "1.0-0", 0},
	{"1.0", "1.1", -1},
	{"1.10", "1.9", 1},
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0a", "1.0", 1},
	{"1.0a", "1.0+", -1}, // letters sort before other characters
	{"1.0+b1", "1.0", 1},
	{"1:1.0", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"1.0-1", "1.0-1.1", -1},
	{"1.0-10", "1.0-9", 1},
	{"01.0", "1.0", 0},
	{"1.000000000000000000000001", "1.1", 0}, // numeric, however long
	{"99999999999999999999999", "99999999999999999999998", 1},
	{"6.1.192-3", "6.1.180-1~deb11u1", 1},
	{"6.1.170-3", "6.1.176-1", -1},
	{"6.12.117-1~deb12u1", "6.12.117-1", -1},
	{"6.12.95-1~bpo12+1", "6.12.107-1~deb12u1", -1},
	{"7.3~rc7-1~exp1", "7.3.4-1~bpo13+1", -1},
	{"7.3~rc7-1~exp1", "7.2.13-1", 1},
	{"6.1.0-57", "6.1.0-0.deb11.52", 1},
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range versionTests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// TestCompareVersionsDpkg checks the table against dpkg itself.
func TestCompareVersionsDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("no dpkg to compare with")
	}
	for _, tt := range versionTests {
		op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[tt.want]
		if err := exec.Command(dpkg, "--compare-versions", tt.a, op, tt.b).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s %s %s: %v", tt.a, op, tt.b, err)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	for _, tt := range versionTests {
		f.Add(tt.a, tt.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := Compare(a, b), Compare(b, a); x != -y {
			t.Fatalf("Compare(%q, %q) = %d but reversed = %d", a, b, x, y)
		}
		if Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", a)
		}
	})
}

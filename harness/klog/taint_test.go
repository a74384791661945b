// SPDX-License-Identifier: MIT

package klog

import (
	"errors"
	"strconv"
	"testing"
)

func TestParseTaint(t *testing.T) {
	tests := []struct {
		in    string
		want  Taint
		flags string
		str   string
	}{
		{in: "0\n", want: 0, flags: "", str: "Not tainted"},
		{in: "12288\n", want: TaintOOTModule | TaintUnsignedModule, flags: "G           OE", str: "Tainted: G           OE"},
		{in: "12800", want: TaintWarn | TaintOOTModule | TaintUnsignedModule, flags: "G        W  OE", str: "Tainted: G        W  OE"},
		{in: " 4225 ", want: TaintProprietaryModule | TaintDie | TaintOOTModule, flags: "P      D    O", str: "Tainted: P      D    O"},
		{in: "16384", want: TaintSoftLockup, flags: "G             L", str: "Tainted: G             L"},
		{in: "524288", want: TaintFWCTL, flags: "G                  J", str: "Tainted: G                  J"},
		{in: "33554944", want: TaintWarn | 1<<25, flags: "G        W", str: "Tainted: G        W (bit 25)"},
	}
	for _, tt := range tests {
		got, err := ParseTaint(tt.in)
		if err != nil {
			t.Fatalf("ParseTaint(%q): %v", tt.in, err)
		}
		if got != tt.want || got.Flags() != tt.flags || got.String() != tt.str {
			t.Errorf("ParseTaint(%q) = %#x, Flags %q, String %q; want %#x, %q, %q",
				tt.in, uint64(got), got.Flags(), got.String(), uint64(tt.want), tt.flags, tt.str)
		}
	}
}

func TestParseTaintErrors(t *testing.T) {
	for _, in := range []string{"", "G", "-1", "0x3000", "18446744073709551616"} {
		_, err := ParseTaint(in)
		if err == nil {
			t.Errorf("ParseTaint(%q) succeeded", in)
			continue
		}
		var numErr *strconv.NumError
		if !errors.As(err, &numErr) {
			t.Errorf("ParseTaint(%q) = %v, want a wrapped *strconv.NumError", in, err)
		}
	}
}

// The letters are in the order of the kernel's taint_flags table, bit 0 first.
func TestTaintLetters(t *testing.T) {
	letters := map[Taint]byte{
		TaintProprietaryModule: 'P', TaintForcedModule: 'F', TaintCPUOutOfSpec: 'S', TaintForcedRmmod: 'R',
		TaintMachineCheck: 'M', TaintBadPage: 'B', TaintUser: 'U', TaintDie: 'D',
		TaintOverriddenACPITable: 'A', TaintWarn: 'W', TaintCrap: 'C', TaintFirmwareWorkaround: 'I',
		TaintOOTModule: 'O', TaintUnsignedModule: 'E', TaintSoftLockup: 'L', TaintLivepatch: 'K',
		TaintAux: 'X', TaintRandstruct: 'T', TaintTest: 'N', TaintFWCTL: 'J',
	}
	if TaintOOTModule != 1<<12 || TaintUnsignedModule != 1<<13 {
		t.Fatalf("O is bit %d and E bit %d, want 12 and 13", bitOf(TaintOOTModule), bitOf(TaintUnsignedModule))
	}
	for f, c := range letters {
		flags := f.Flags()
		if got := flags[len(flags)-1]; got != c {
			t.Errorf("bit %d prints %q, want %q", bitOf(f), got, c)
		}
	}
}

func bitOf(f Taint) int {
	for i := range 64 {
		if f == 1<<i {
			return i
		}
	}
	return -1
}

func TestUnexpectedTaint(t *testing.T) {
	before, _ := ParseTaint("0")
	after, _ := ParseTaint("12800") // W, O, E
	if got := after.Unexpected(before | ModuleTaints); got != TaintWarn {
		t.Fatalf("Unexpected = %v, want W alone", got)
	}
	if got := (ModuleTaints).Unexpected(ModuleTaints); got != 0 {
		t.Fatalf("loading the module taints unexpectedly: %v", got)
	}
	if !after.Has(TaintWarn|TaintOOTModule) || after.Has(TaintDie) {
		t.Fatal("Has is wrong")
	}
}

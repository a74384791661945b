// SPDX-License-Identifier: MIT

package klog

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Taint is the kernel's taint mask, as in /proc/sys/kernel/tainted.
// Bits and letters are those of Documentation/admin-guide/tainted-kernels.rst.
type Taint uint64

// The taint flags, one bit each, in the kernel's order.
const (
	TaintProprietaryModule   Taint = 1 << iota // P (G when clear): a non-GPL module was loaded
	TaintForcedModule                          // F: a module was force loaded
	TaintCPUOutOfSpec                          // S: the system is out of specification
	TaintForcedRmmod                           // R: a module was force unloaded
	TaintMachineCheck                          // M: a machine check exception happened
	TaintBadPage                               // B: a bad page was referenced or met
	TaintUser                                  // U: taint requested by user space
	TaintDie                                   // D: the kernel died recently (an Oops or BUG)
	TaintOverriddenACPITable                   // A: an ACPI table was overridden
	TaintWarn                                  // W: a kernel warning happened
	TaintCrap                                  // C: a staging driver was loaded
	TaintFirmwareWorkaround                    // I: a workaround for a firmware bug is active
	TaintOOTModule                             // O: an out-of-tree module was loaded
	TaintUnsignedModule                        // E: an unsigned module was loaded
	TaintSoftLockup                            // L: a soft lockup happened
	TaintLivepatch                             // K: the kernel was live patched
	TaintAux                                   // X: auxiliary, for distributions
	TaintRandstruct                            // T: built with the randstruct plugin
	TaintTest                                  // N: an in-kernel test (KUnit) ran
	TaintFWCTL                                 // J: fwctl's mutating debug interface was used
)

// ModuleTaints are the taints that loading cnvmtest's test module sets on
// its own: it is built out of tree and not signed. A taint check allows them.
const ModuleTaints = TaintOOTModule | TaintUnsignedModule

// taintLetters are the flags' letters by bit; bit 0 prints G when clear.
const taintLetters = "PFSRMBUDAWCIOELKXTNJ"

// ParseTaint parses the decimal value of /proc/sys/kernel/tainted.
func ParseTaint(s string) (Taint, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing kernel taint %q: %w", s, err)
	}
	return Taint(v), nil
}

// Has reports whether all the flags in f are set.
func (t Taint) Has(f Taint) bool { return t&f == f }

// Unexpected returns the flags set in t that allowed does not have.
func (t Taint) Unexpected(allowed Taint) Taint { return t &^ allowed }

// Flags returns the flags as the kernel prints them after "Tainted: ": one
// column per known flag, in bit order, holding its letter when set and a
// space when not, except the first, which holds G when no proprietary
// module was loaded. Trailing spaces are dropped: their number depends on
// how many flags the kernel knows. An untainted kernel has no flags, "".
// Bits unknown to this package are not shown; String shows them.
func (t Taint) Flags() string {
	if t == 0 {
		return ""
	}
	b := make([]byte, len(taintLetters))
	for i := range taintLetters {
		switch {
		case t&(1<<i) != 0:
			b[i] = taintLetters[i]
		case i == 0:
			b[i] = 'G'
		default:
			b[i] = ' '
		}
	}
	return strings.TrimRight(string(b), " ")
}

// String returns "Not tainted", or "Tainted: " and the flags as the kernel
// prints them, followed by any bit this package does not know, such as
// "Tainted: G           OE" or "Tainted: G (bit 25)".
func (t Taint) String() string {
	if t == 0 {
		return "Not tainted"
	}
	s := "Tainted: " + t.Flags()
	for rest := t >> len(taintLetters); rest != 0; rest &= rest - 1 {
		s += fmt.Sprintf(" (bit %d)", bits.TrailingZeros64(uint64(rest))+len(taintLetters))
	}
	return s
}

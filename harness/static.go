// SPDX-License-Identifier: MIT

package harness

import (
	"debug/elf"
	"fmt"
)

// CheckStatic rejects programs the guest cannot run: it has no dynamic
// loader or libraries for them.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF program: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s: built for %s, the guest is x86_64", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: the guest has no libraries; build it static (CGO_ENABLED=0 for Go, also for go test -exec; -static for C)", path)
		}
	}
	return nil
}

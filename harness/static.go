// SPDX-License-Identifier: MIT

package harness

import (
	"debug/elf"
	"fmt"
)

// CheckStatic rejects programs the guest cannot run: it has no dynamic
// loader or libraries for them.
func CheckStatic(path string) error { return checkStaticFor(path, "amd64") }

// guestMachines are the ELF machines of the guests' architectures.
var guestMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "s390x": elf.EM_S390}

// checkStaticFor is CheckStatic for a guest of arch (Debian's and Go's name).
func checkStaticFor(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF program: %w", path, err)
	}
	defer f.Close()
	if want := guestMachines[arch]; f.Machine != want {
		return fmt.Errorf("%s: built for %s, the guest is %s (%s)", path, f.Machine, arch, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: the guest has no libraries; build it static (CGO_ENABLED=0 for Go, also for go test -exec; -static for C)", path)
		}
	}
	return nil
}

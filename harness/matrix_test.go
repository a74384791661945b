// SPDX-License-Identifier: MIT

package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
	"github.com/cnvmtest/cnvmtest/harness/vm"
	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

// A matrix of an amd64 and an arm64 kernel names each guest's
// architecture and what emulated it.
func TestMatrixSummaryNamesTheGuests(t *testing.T) {
	results := []MatrixResult{
		{Kernel: "debian:6.1", Elapsed: time.Second, Result: &Result{Outcome: report.Pass, Arch: "amd64",
			Emulator: "qemu-system-x86_64 (kvm)", Kernel: &kernel.Kernel{Release: "6.1.0-57-amd64"}}},
		{Kernel: "debian:6.1@arm64", Elapsed: time.Second, Result: &Result{Outcome: report.Pass, Arch: "arm64",
			Emulator: "qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on (tcg)", Kernel: &kernel.Kernel{Release: "6.1.0-57-arm64"}}},
	}
	var text, md bytes.Buffer
	WriteMatrixSummary(&text, results, time.Second)
	WriteMarkdown(&md, results)
	for _, want := range []string{
		"KERNEL            RELEASE         ARCH",
		"debian:6.1@arm64  6.1.0-57-arm64  arm64",
		"emulator of arm64: qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on (tcg)\n",
		"emulator of amd64: qemu-system-x86_64 (kvm)\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, text.String())
		}
	}
	if want := "| `debian:6.1@arm64` | 6.1.0-57-arm64 | arm64 on qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on (tcg) | PASS |"; !strings.Contains(md.String(), want) {
		t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
	}
}

// The machine harness/vm boots and the guest runner agree on the console
// and on which port is the result stream's.
func TestGuestAndMachineAgree(t *testing.T) {
	for _, arch := range vm.Arches() {
		if got, want := guest.ConsoleFor(arch), "/dev/"+vm.Console(arch); got != want {
			t.Errorf("%s: the runner's console is %s, the kernel's %s", arch, got, want)
		}
		if guest.ResultPortFor(arch) == guest.ConsoleFor(arch) {
			t.Errorf("%s: the result port is the console", arch)
		}
	}
	if guest.ResultPortFor("amd64") != guest.ResultPort {
		t.Errorf("amd64's result port is %s, not %s", guest.ResultPortFor("amd64"), guest.ResultPort)
	}
}

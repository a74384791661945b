// SPDX-License-Identifier: MIT

package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
	"github.com/cnvmtest/cnvmtest/harness/report"
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

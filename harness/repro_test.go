// SPDX-License-Identifier: MIT

package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

// repro.sh sends the result port, an inherited descriptor in the run, to
// results.out, whichever way the architecture's machine wires it.
func TestReproResultPort(t *testing.T) {
	for _, c := range []struct {
		arch string
		port []string
		want string
	}{
		{"amd64", []string{"-serial", "file:/dev/fd/3"}, "-serial file:$dir/results.out"},
		{"arm64", []string{"-chardev", "file,id=cnvmtest-results,path=/dev/fd/3", "-device", "pci-serial,chardev=cnvmtest-results"},
			"-chardev file,id=cnvmtest-results,path=$dir/results.out -device"},
		{"s390x", []string{"-device", "virtio-serial-ccw,id=cnvmtest-vser", "-chardev", "file,id=cnvmtest-results,path=/dev/fd/4"},
			"-chardev file,id=cnvmtest-results,path=$dir/results.out"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			dir := t.TempDir()
			k := &kernel.Kernel{Release: "6.1.0-50-" + c.arch, PackageVersion: "6.1.176-1", Image: "/k/vmlinuz"}
			cmdline := append(append([]string{"qemu-system-x", "-serial", "stdio"}, c.port...), "-kernel", "/k/vmlinuz")
			if err := writeRepro(dir, k, cmdline); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "repro.sh"))
			if err != nil {
				t.Fatal(err)
			}
			if s := string(b); !strings.Contains(s, c.want) || strings.Contains(s, "/dev/fd/") {
				t.Errorf("repro.sh:\n%s\nwant %q and no /dev/fd/", s, c.want)
			}
		})
	}
}

// SPDX-License-Identifier: MIT

package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel"
)

// writeRepro leaves in the run directory what it takes to boot the same
// guest again by hand: the kernel reference and config, and repro.sh,
// which reruns the exact QEMU command line (the initramfs is already in
// the directory) and, as `repro.sh gdb`, waits for gdb on port 1234.
func writeRepro(dir string, k *kernel.Kernel, cmdline []string) error {
	ref, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(ref, '\n'), 0o644); err != nil {
		return err
	}
	if k.Config != "" {
		if b, err := os.ReadFile(k.Config); err == nil {
			os.WriteFile(filepath.Join(dir, "kernel.config"), b, 0o644)
		}
	}
	args := make([]string, len(cmdline))
	for i, a := range cmdline {
		// The result port was a pipe to the harness; by hand it goes to
		// a file beside the script: a -serial (amd64) or a -chardev's
		// path (arm64, s390x).
		if strings.HasPrefix(a, "file:/dev/fd/") {
			a = "file:$dir/results.out"
		}
		a = chardevFD.ReplaceAllString(a, "${1}path=$$dir/results.out")
		args[i] = shellQuote(a)
	}
	vmlinux := k.Image
	script := fmt.Sprintf(`#!/bin/sh
# Boots the guest of this run again: kernel %s (Debian %s).
# The kernel console prints here; the result stream goes to results.out.
# "repro.sh gdb" stops the guest at start and waits for:
#   gdb %s -ex 'target remote :1234'
dir=$(cd "$(dirname "$0")" && pwd)
extra=""
[ "$1" = gdb ] && extra="-s -S"
exec %s $extra
`, k.Release, k.PackageVersion, vmlinux, strings.Join(args, " "))
	return os.WriteFile(filepath.Join(dir, "repro.sh"), []byte(script), 0o755)
}

// chardevFD is a -chardev file backend writing to an inherited descriptor.
var chardevFD = regexp.MustCompile(`(^file,(?:.*,)?)path=/dev/fd/\d+`)

// shellQuote quotes a for sh, leaving $dir expandable.
func shellQuote(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n'\"\\`|&;<>()*?[]#~%!{}") {
		return a
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`").Replace(a) + `"`
}

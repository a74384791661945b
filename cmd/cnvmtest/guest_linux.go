// SPDX-License-Identifier: MIT

//go:build linux

package main

import (
	"os"
	"path/filepath"

	"github.com/cnvmtest/cnvmtest/initramfs/guest/runner"
)

// asGuestRunner runs this binary as the guest runner when a guest booted
// it: as the kernel's /init (process 1) or, under u-root's init, as
// /bin/uinit. Without a cnvmtest source tree to build the runner from,
// the harness boots the cnvmtest binary itself (package harness).
func asGuestRunner() {
	if os.Getpid() == 1 || filepath.Base(os.Args[0]) == "uinit" {
		runner.Main()
	}
}

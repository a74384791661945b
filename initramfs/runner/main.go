// SPDX-License-Identifier: MIT

//go:build linux

// Command runner is the guest runner as a small static program of its own
// (package initramfs/guest/runner), which runs built from a cnvmtest source
// tree boot as the guest's /init when their test binary is not its own
// runner (runner.AsInit).
package main

import "github.com/cnvmtest/cnvmtest/initramfs/guest/runner"

func main() { runner.Main() }

// SPDX-License-Identifier: MIT

//go:build !linux

package kernel

import "os/exec"

// killGroupOnCancel leaves cancellation to kill cmd alone; closing its
// stdout stops the children.
func killGroupOnCancel(cmd *exec.Cmd) {}

// SPDX-License-Identifier: MIT

package kernel

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel makes cmd's cancellation kill its children too.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"errors"
	"fmt"
	"os"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
	"golang.org/x/sys/unix"
)

// mount is one file system the runner mounts when it is the guest's init.
type mount struct {
	source, target, fstype, data string
	required                     bool
}

// initMounts are what the runner, tests and forensics use: devices (the
// serial ports, /dev/kmsg), /proc (taint, sysrq, uptime), /sys (module
// parameters and counters), a writable /tmp (t.TempDir) and debugfs
// (kmemleak). u-root's init mounts more (cgroups, efivarfs...); nothing
// here needs those, and every mount costs boot time under TCG.
var initMounts = []mount{
	{"devtmpfs", "/dev", "devtmpfs", "", true},
	{"proc", "/proc", "proc", "", true},
	{"sysfs", "/sys", "sysfs", "", true},
	{"tmpfs", "/tmp", "tmpfs", "mode=1777", true},
	{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620", false},
	{"tmpfs", "/dev/shm", "tmpfs", "mode=1777", false},
	{"debugfs", "/sys/kernel/debug", "debugfs", "", false},
}

// devLinks are the /dev symlinks a distribution's init would make.
var devLinks = [][2]string{
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
}

// setupInit makes the guest usable when the runner is process 1, started
// by the kernel as /init (cnvmtest's default): it mounts initMounts and
// sets the environment a program expects. With u-root's init in front
// (-init u-root, and the shell) that init has done all this already.
//
// An error names the first required mount that failed; the runner reports
// it and powers off, since without /dev it cannot even reach the host.
func setupInit() error {
	var errs []error
	for _, m := range initMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && m.required {
			errs = append(errs, err)
			continue
		}
		err := unix.Mount(m.source, m.target, m.fstype, unix.MS_NOSUID, m.data)
		if err != nil && m.required && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount -t %s %s: %w", m.fstype, m.target, err))
		}
	}
	for _, l := range devLinks {
		os.Symlink(l[0], l[1])
	}
	os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin:/"+guest.Dir)
	os.Setenv("HOME", "/")
	os.Setenv("TMPDIR", "/tmp")
	return errors.Join(errs...)
}

//go:build linux

// Command floorinit is the whole userspace of the guest that cnvmtest bench
// boots to measure the floor: the time QEMU needs to boot the same kernel
// with the same machine flags and do nothing. It prints one line on the
// console, so the host can tell that the kernel reached it, and powers the
// guest off. It loads no module and mounts nothing.
package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// Marker is the line the host waits for on the console; bench.FloorMarker
// must match it.
const marker = "cnvmtest-floor: init reached\n"

func main() {
	os.Stdout.WriteString(marker)
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// A kernel without ACPI halts instead; QEMU runs with -no-reboot, so
	// a restart ends it too.
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

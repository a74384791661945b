// SPDX-License-Identifier: MIT

//go:build linux

// Command floorinit is the whole userspace of the guests that cnvmtest
// bench boots to measure the floor: the time QEMU needs to boot the same
// kernel with the same machine flags and do the least a connector test
// does. It prints a marker on the console, so the host can tell that the
// kernel reached it, and powers the guest off.
//
// With no module given it does nothing else: the bare boot. Given one
// (CNVMTEST_FLOOR_MODULE, a path in the initramfs, passed on the kernel
// command line as init's environment) it loads it and does
// CNVMTEST_FLOOR_ECHOES echo round trips with the id in CNVMTEST_FLOOR_ID
// over a plain netlink socket, checking every reply: the echo floor the
// speed goals in the README are stated against. It mounts nothing.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Markers are the lines the host waits for on the console; bench.FloorMarker
// and bench.FloorDone must match them.
const (
	marker = "cnvmtest-floor: init reached"
	done   = "cnvmtest-floor: done"
)

func main() {
	fmt.Println(marker)
	if mod := os.Getenv("CNVMTEST_FLOOR_MODULE"); mod != "" {
		if err := echo(mod, os.Getenv("CNVMTEST_FLOOR_ID"), os.Getenv("CNVMTEST_FLOOR_ECHOES")); err != nil {
			fmt.Println("cnvmtest-floor: error:", err)
			powerOff()
		}
	}
	fmt.Println(done)
	powerOff()
}

func powerOff() {
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// A kernel without ACPI halts instead; QEMU runs with -no-reboot, so
	// a restart ends it too.
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

// echo loads the module and does n round trips to idx:val.
func echo(mod, id, count string) error {
	idx, val, ok := strings.Cut(id, ":")
	i, err1 := strconv.ParseUint(idx, 10, 32)
	v, err2 := strconv.ParseUint(val, 10, 32)
	n, err3 := strconv.Atoi(count)
	if !ok || err1 != nil || err2 != nil || err3 != nil || n < 1 {
		return fmt.Errorf("bad CNVMTEST_FLOOR_ID %q or CNVMTEST_FLOOR_ECHOES %q", id, count)
	}
	f, err := os.Open(mod)
	if err != nil {
		return err
	}
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil {
		return fmt.Errorf("finit_module %s: %w", mod, err)
	}
	f.Close()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_CONNECTOR)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	// nlmsghdr (16 bytes), cn_msg (20 bytes), 64 data bytes.
	const size = 64
	req := make([]byte, 36+size)
	buf := make([]byte, 64<<10)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.NLMSG_DONE)
	ne.PutUint32(req[16:], uint32(i))
	ne.PutUint32(req[20:], uint32(v))
	ne.PutUint16(req[32:], size)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	for seq := uint32(1); seq <= uint32(n); seq++ {
		ne.PutUint32(req[8:], seq)
		ne.PutUint32(req[24:], seq)
		ne.PutUint32(req[28:], seq)
		if err := unix.Sendto(fd, req, 0, kernel); err != nil {
			return fmt.Errorf("send %d: %w", seq, err)
		}
		got, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("receive %d: %w", seq, err)
		}
		// The module replies with the same seq and ack+1.
		if got < 36 || ne.Uint32(buf[24:]) != seq || ne.Uint32(buf[28:]) != seq+1 {
			return fmt.Errorf("echo %d: unexpected %d-byte reply", seq, got)
		}
	}
	return nil
}

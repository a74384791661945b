// SPDX-License-Identifier: MIT

package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Accel is a QEMU accelerator.
type Accel string

// Accelerators cnvmtest uses.
const (
	KVM Accel = "kvm"
	TCG Accel = "tcg"
)

// Probe decides whether KVM works here and says why. The device node alone
// proves nothing: a paravirtual /dev/kvm may answer ioctls and still hang
// every real guest. So KVM is used only when the node opens read-write, the
// CPU advertises hardware virtualisation (vmx or svm in /proc/cpuinfo), and
// a tiny guest really runs under KVM and exits through isa-debug-exit.
func Probe(ctx context.Context, qemu string) (Accel, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return TCG, fmt.Sprintf("KVM unusable (%v)", err)
	}
	f.Close()
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return TCG, fmt.Sprintf("KVM unusable: %v", err)
	}
	if !cpuFlag(cpuinfo, "vmx") && !cpuFlag(cpuinfo, "svm") {
		return TCG, "KVM unusable: /dev/kvm exists but the CPU shows no vmx/svm flag (paravirtual KVM hangs real guests)"
	}
	if err := probeGuest(ctx, qemu); err != nil {
		return TCG, fmt.Sprintf("KVM unusable: probe guest failed: %v", err)
	}
	return KVM, "KVM works (probe guest ran)"
}

func cpuFlag(cpuinfo []byte, flag string) bool {
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(bytes.TrimSpace(name)) != "flags" {
			continue
		}
		for _, f := range bytes.Fields(value) {
			if string(f) == flag {
				return true
			}
		}
	}
	return false
}

// probeExit is the value the probe guest writes to isa-debug-exit; QEMU
// then exits with status probeExit<<1 | 1.
const probeExit = 0x31

// probeBIOS is a 64 KiB firmware image whose reset vector writes probeExit
// to port 0xf4 and halts.
func probeBIOS() []byte {
	b := bytes.Repeat([]byte{0xf4}, 64<<10) // hlt
	code := []byte{
		0xb0, probeExit, // mov al, probeExit
		0xe6, 0xf4, // out 0xf4, al
		0xf4,       // hlt
		0xeb, 0xfd, // jmp to hlt
	}
	copy(b[0xfff0:], code)
	return b
}

func probeGuest(ctx context.Context, qemu string) error {
	dir, err := os.MkdirTemp("", "cnvmtest-kvm-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bios := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(bios, probeBIOS(), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-accel", "kvm", "-nodefaults",
		"-display", "none", "-m", "16", "-bios", bios,
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return errors.New("timed out after 5s")
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == probeExit<<1|1 {
		return nil
	}
	return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
}

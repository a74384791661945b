// SPDX-License-Identifier: MIT

package vm

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"
)

func TestMachineArgsArm64(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cfg := Config{Arch: ARM64, Accel: TCG, MemoryMB: 512, CPUs: 1}
	m, _ := machineFor(ARM64)
	opts, err := qemu.OptionsFor(qemu.ArchArm64,
		qemu.WithQEMUCommand("qemu-system-aarch64"),
		qemu.WithKernel("/k/Image"),
		qemu.WithAppendKernel(kernelArgs(m)...),
		machineArgs(cfg, &QEMU{Path: "qemu-system-aarch64"}, w))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := opts.Cmdline()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(cmdline, " ")
	for _, want := range []string{
		"-nodefaults -display none -no-reboot -machine virt -accel tcg -m 512 -smp 1",
		// The console is the board's PL011; results go to a PCI 16550
		// that Debian's arm64 kernels drive without a module.
		"-serial stdio -chardev file,id=cnvmtest-results,path=/dev/fd/3 -device pci-serial,chardev=cnvmtest-results",
		"-cpu max,pauth-impdef=on",
		"-append console=ttyAMA0 panic=-1 cryptomgr.notests",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "no_timer_check") || strings.Contains(args, "ttyS0") {
		t.Errorf("arm64 guest gets amd64's kernel arguments: %q", args)
	}

	// The user's own board and CPU win.
	opts, err = qemu.OptionsFor(qemu.ArchArm64, machineArgs(cfg, &QEMU{Path: "qemu-system-aarch64", Args: []string{"-M", "virt,gic-version=3", "-cpu", "cortex-a57"}}, w))
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(opts.QEMUArgs, " "); strings.Contains(args, "-machine virt") || strings.Contains(args, "pauth") {
		t.Errorf("QEMU args %q override the user's -M and -cpu", args)
	}
}

func TestFindQEMUForArch(t *testing.T) {
	t.Setenv("VMTEST_QEMU", "qemu-system-x86_64 -m 1024")
	_, err := FindQEMUFor("", ARM64)
	if err == nil || !strings.Contains(err.Error(), "runs x86_64 guests, but the kernel is arm64: use qemu-system-aarch64 (Debian package qemu-system-arm, `make deps-arm64`)") {
		t.Errorf("FindQEMUFor(arm64) with an x86 VMTEST_QEMU = %v", err)
	}
	if err := CheckEnv(ARM64); err == nil || !strings.Contains(err.Error(), "runs x86_64 guests") {
		t.Errorf("CheckEnv(arm64) with an x86 VMTEST_QEMU = %v", err)
	}
	t.Setenv("VMTEST_QEMU", "")
	_, err = FindQEMUFor("qemu-system-aarch64-missing", ARM64)
	if err == nil || !strings.Contains(err.Error(), "make deps-arm64") || !strings.Contains(err.Error(), "qemu-system-arm") {
		t.Errorf("FindQEMUFor of a missing arm64 QEMU = %v, want the package and make target", err)
	}
	if DefaultQEMUFor(ARM64) != "qemu-system-aarch64" || DefaultQEMUFor("") != DefaultQEMU {
		t.Errorf("default QEMUs: %s, %s", DefaultQEMUFor(ARM64), DefaultQEMUFor(""))
	}
}

func TestCheckEnvArch(t *testing.T) {
	for _, c := range []struct {
		env, arch string
		ok        bool
	}{
		{"", ARM64, true}, {"arm64", ARM64, true}, {"aarch64", ARM64, true},
		{"x86_64", "", true}, {"amd64", AMD64, true},
		{"amd64", ARM64, false}, {"arm64", AMD64, false}, {"riscv64", ARM64, false},
		{"s390x", S390X, true}, {"s390x", AMD64, false}, {"arm64", S390X, false},
	} {
		t.Setenv("VMTEST_ARCH", c.env)
		if err := CheckEnv(c.arch); (err == nil) != c.ok {
			t.Errorf("VMTEST_ARCH=%q with an %s kernel: %v", c.env, c.arch, err)
		}
	}
}

func TestEmulator(t *testing.T) {
	if got, want := Emulator(&QEMU{Path: "/usr/bin/qemu-system-aarch64"}, ARM64, TCG), "qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on (tcg)"; got != want {
		t.Errorf("Emulator = %q, want %q", got, want)
	}
	if got, want := Emulator(&QEMU{Path: "/usr/bin/qemu-system-s390x"}, S390X, TCG), "qemu-system-s390x -machine s390-ccw-virtio (tcg)"; got != want {
		t.Errorf("Emulator = %q, want %q", got, want)
	}
	if got, want := Emulator(&QEMU{Path: "/usr/bin/qemu-system-x86_64"}, "", KVM), "qemu-system-x86_64 (kvm)"; got != want {
		t.Errorf("Emulator = %q, want %q", got, want)
	}
}

// vmtest's qemu package has no s390x: options makes the Options itself,
// with the same environment OptionsFor honours.
func TestOptionsS390x(t *testing.T) {
	if _, err := qemu.OptionsFor(qemu.Arch(S390X)); err == nil {
		t.Log("vmtest's qemu package now knows s390x: options could use OptionsFor")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	t.Setenv("VMTEST_QEMU_APPEND", "-d guest_errors")
	t.Setenv("VMTEST_KERNEL_APPEND", "loglevel=8")
	t.Setenv("VMTEST_TIMEOUT", "42s")
	cfg := Config{Arch: S390X, Accel: TCG, MemoryMB: 512, CPUs: 1}
	m, err := machineFor(S390X)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := options(m,
		qemu.WithQEMUCommand("qemu-system-s390x"),
		qemu.WithKernel("/k/vmlinuz"),
		qemu.WithInitramfs("/k/initrd"),
		qemu.WithAppendKernel(kernelArgs(m)...),
		machineArgs(cfg, &QEMU{Path: "qemu-system-s390x"}, w))
	if err != nil {
		t.Fatal(err)
	}
	if opts.VMTimeout.String() != "42s" || len(opts.ExtraFiles) != 1 {
		t.Errorf("VMTimeout %v, ExtraFiles %v: want 42s and the result port", opts.VMTimeout, opts.ExtraFiles)
	}
	cmdline, err := opts.Cmdline()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(cmdline, " ")
	for _, want := range []string{
		"qemu-system-s390x -d guest_errors -nodefaults -display none -no-reboot -machine s390-ccw-virtio -accel tcg -m 512 -smp 1",
		// The console is the SCLP's VT220; results go to a virtio
		// serial port, not to the SCLP's line-mode console.
		"-serial stdio -device virtio-serial-ccw,id=cnvmtest-vser -chardev file,id=cnvmtest-results,path=/dev/fd/3 " +
			"-device virtserialport,bus=cnvmtest-vser.0,chardev=cnvmtest-results,name=cnvmtest.results",
		"-kernel /k/vmlinuz -append loglevel=8 console=ttysclp0 panic=-1 cryptomgr.notests -initrd /k/initrd",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "-cpu") || strings.Contains(args, "-nographic") || strings.Contains(args, "sclplmconsole") {
		t.Errorf("s390x QEMU args %q: want no -cpu, -nographic or line-mode console", args)
	}

	t.Setenv("VMTEST_TIMEOUT", "soon")
	if _, err := options(m); !errors.Is(err, qemu.ErrInvalidTimeout) {
		t.Errorf("options with VMTEST_TIMEOUT=soon = %v, want ErrInvalidTimeout", err)
	}
}

// SPDX-License-Identifier: MIT

package vm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hugelgupf/vmtest/qemu"
)

func TestCPUFlag(t *testing.T) {
	cpuinfo := []byte("processor\t: 0\nflags\t\t: fpu vme sse2 vmx ept\nbugs\t\t: spectre_v1\n")
	tests := []struct {
		flag string
		want bool
	}{
		{"vmx", true},
		{"ept", true},
		{"svm", false},
		{"spectre_v1", false}, // a bug, not a flag
		{"vm", false},         // a prefix of vmx
	}
	for _, tt := range tests {
		if got := cpuFlag(cpuinfo, tt.flag); got != tt.want {
			t.Errorf("cpuFlag(%q) = %v, want %v", tt.flag, got, tt.want)
		}
	}
}

func TestProbeBIOS(t *testing.T) {
	b := probeBIOS()
	if len(b) != 64<<10 {
		t.Fatalf("probe BIOS is %d bytes, want 64 KiB", len(b))
	}
	// The reset vector is 16 bytes below the top of the image.
	want := []byte{0xb0, probeExit, 0xe6, 0xf4}
	if diff := cmp.Diff(want, b[0xfff0:0xfff4]); diff != "" {
		t.Fatalf("reset vector (-want +got):\n%s", diff)
	}
}

// TestProbeBIOSRunsUnderTCG boots the probe firmware under emulation, which
// works everywhere QEMU does: it proves the image exits the way the KVM
// probe expects.
func TestProbeBIOSRunsUnderTCG(t *testing.T) {
	q, err := exec.LookPath(DefaultQEMU)
	if err != nil {
		t.Skipf("%s not installed (make deps installs it)", DefaultQEMU)
	}
	bios := filepath.Join(t.TempDir(), "probe.bin")
	if err := os.WriteFile(bios, probeBIOS(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), q, "-accel", "tcg", "-nodefaults",
		"-display", "none", "-m", "16", "-bios", bios,
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != probeExit<<1|1 {
		t.Fatalf("probe guest under TCG: %v, want exit status %d", err, probeExit<<1|1)
	}
}

func TestQEMUPathMissing(t *testing.T) {
	_, err := QEMUPath("qemu-system-does-not-exist")
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("QEMUPath of a missing binary = %v, want advice naming make deps", err)
	}
}

func TestMachineArgs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	opts, err := qemu.OptionsFor(qemu.ArchAMD64,
		qemu.WithQEMUCommand("qemu-system-x86_64"),
		machineArgs(Config{Accel: TCG, MemoryMB: 512, CPUs: 2, Extra: []string{"-s"}}, &QEMU{Path: "qemu-system-x86_64"}, w))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(dropArg(opts.QEMUArgs, "-nographic"), " ")
	for _, want := range []string{
		"-nodefaults -display none -no-reboot -accel tcg -m 512 -smp 2",
		// The console must be the first serial port, results the second.
		"-serial stdio -serial file:/dev/fd/3",
		"-s",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "-nographic") {
		t.Errorf("QEMU args %q keep -nographic, which puts a monitor on stdio", args)
	}
}

// SPDX-License-Identifier: MIT

package vm

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hugelgupf/vmtest/qemu"
)

// Architectures guests can have, Debian's and Go's names for them.
const (
	AMD64 = "amd64"
	ARM64 = "arm64"
	S390X = "s390x"
)

// machine is how guests of one architecture boot: the QEMU binary and its
// Debian package, the board, the kernel console, and the result port,
// which must be a second channel beside the console so that results never
// mix with kernel messages.
type machine struct {
	arch     qemu.Arch // "" where vmtest's qemu package has none (see options)
	qemu     string    // default binary
	pkg      string    // the Debian package that has it
	deps     string    // the make target that installs what the architecture needs
	console  string    // the kernel console (console=)
	board    []string
	cpu      string   // -cpu under TCG
	kernel   []string // more kernel arguments
	resultFn func(fd int) []string
}

var machines = map[string]machine{
	// QEMU's pc with -nodefaults: the console on COM1 (ttyS0), the result
	// port on COM2 (ttyS1), both 8250s built into every Debian kernel.
	// no_timer_check: the boot-time IO-APIC timer check misses its
	// interrupt on a loaded host and panics ("IO-APIC + timer doesn't
	// work!", seen under make bench).
	AMD64: {
		arch: qemu.ArchAMD64, qemu: "qemu-system-x86_64", pkg: "qemu-system-x86", deps: "deps",
		console: "ttyS0", kernel: []string{"no_timer_check"},
		resultFn: func(fd int) []string { return []string{"-serial", fmt.Sprintf("file:/dev/fd/%d", fd)} },
	},
	// QEMU's virt board has one UART, a PL011 (ttyAMA0), for the console.
	// The result port is QEMU's PCI 16550 (pci-serial, PCI ID 1b36:0002),
	// which drivers/tty/serial/8250/8250_pci.c drives (its
	// PCI_DEVICE_ID_REDHAT_SERIAL entry) on the board's generic PCIe host
	// (drivers/pci/controller/pci-host-generic.c): Debian's arm64 kernels
	// build both in (CONFIG_SERIAL_8250_PCI=y, CONFIG_PCI_HOST_GENERIC=y),
	// so the guest has it at boot, as ttyS0 (no legacy 8250 ports on
	// arm64), with no module to load first; their virtio console is a
	// module (CONFIG_VIRTIO_CONSOLE=m, and CONFIG_VIRTIO_MMIO=m).
	// The CPU is max with QEMU's own pointer-authentication algorithm:
	// the kernel still signs its return addresses (CONFIG_ARM64_PTR_AUTH),
	// but emulating the architected QARMA5 algorithm made a bare boot to
	// power-off 3 to 5 times slower under TCG (QEMU 7.2: 14.8 s against
	// 5.1 s, and 27.7 s against 10.7 s on a loaded host).
	ARM64: {
		arch: qemu.ArchArm64, qemu: "qemu-system-aarch64", pkg: "qemu-system-arm", deps: "deps-arm64",
		console: "ttyAMA0", board: []string{"-machine", "virt"}, cpu: "max,pauth-impdef=on",
		resultFn: func(fd int) []string {
			return []string{"-chardev", fmt.Sprintf("file,id=cnvmtest-results,path=/dev/fd/%d", fd), "-device", "pci-serial,chardev=cnvmtest-results"}
		},
	},
	// QEMU's s390-ccw-virtio machine gives the first -serial to the SCLP's
	// VT220 console (ttysclp0; hw/s390x/s390-virtio-ccw.c), which the
	// kernel always makes a console under KVM and TCG
	// (arch/s390/kernel/setup.c, conmode_default): it is the console. The
	// result port is a virtio serial port on the virtio-ccw transport,
	// built in (CONFIG_S390_GUEST), whose driver, virtio_console, Debian
	// builds as a module: the store keeps it (harness/kernel's
	// PortModules) and the runner loads it before it opens the port,
	// /dev/vport0p1, a character device with no line discipline. The
	// SCLP's line-mode console is no second channel: it expands tabs and
	// breaks lines at 320 columns (drivers/s390/char/sclp_tty.c).
	// hugelgupf/vmtest's qemu package has no s390x (OptionsFor returns
	// ErrUnsupportedArch), so these guests get their qemu.Options from
	// options below.
	S390X: {
		qemu: "qemu-system-s390x", pkg: "qemu-system-misc; Ubuntu: qemu-system-s390x", deps: "deps-s390x",
		console: "ttysclp0", board: []string{"-machine", "s390-ccw-virtio"},
		resultFn: func(fd int) []string {
			return []string{
				"-device", "virtio-serial-ccw,id=cnvmtest-vser",
				"-chardev", fmt.Sprintf("file,id=cnvmtest-results,path=/dev/fd/%d", fd),
				"-device", "virtserialport,bus=cnvmtest-vser.0,chardev=cnvmtest-results,name=cnvmtest.results",
			}
		},
	},
}

// Console is the kernel console of guests of arch ("ttyAMA0"), the device
// the guest runner gives a shell (initramfs/guest.ConsoleFor).
func Console(arch string) string {
	m, _ := machineFor(arch)
	return m.console
}

// Arches are the architectures guests can have.
func Arches() []string { return []string{AMD64, ARM64, S390X} }

// machineFor returns the machine of arch ("" is AMD64).
func machineFor(arch string) (machine, error) {
	if arch == "" {
		arch = AMD64
	}
	m, ok := machines[arch]
	if !ok {
		return machine{}, fmt.Errorf("no %s guests: cnvmtest boots %s", arch, strings.Join(Arches(), " and "))
	}
	return m, nil
}

// DefaultQEMUFor is the QEMU binary for guests of arch when neither
// Config.QEMU nor VMTEST_QEMU names one.
func DefaultQEMUFor(arch string) string {
	m, err := machineFor(arch)
	if err != nil {
		return DefaultQEMU
	}
	return m.qemu
}

// Emulator names what runs guests of arch with accel, for summaries:
// "qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on (tcg)".
func Emulator(q *QEMU, arch string, accel Accel) string {
	m, _ := machineFor(arch)
	words := []string{filepath.Base(q.Path)}
	if !q.has("-machine", "-M") {
		words = append(words, m.board...)
	}
	if accel != KVM && m.cpu != "" && !q.has("-cpu") {
		words = append(words, "-cpu", m.cpu)
	}
	return fmt.Sprintf("%s (%s)", strings.Join(words, " "), accel)
}

// checkArch refuses a QEMU binary named for another architecture
// (VMTEST_QEMU=qemu-system-x86_64 with an arm64 kernel).
func checkArch(q *QEMU, from string, m machine, arch string) error {
	base := filepath.Base(q.Path)
	if !strings.HasPrefix(base, "qemu-system-") || base == m.qemu {
		return nil
	}
	return fmt.Errorf("%s=%q runs %s guests, but the kernel is %s: use %s (Debian package %s, `make %s`)",
		from, q.String(), strings.TrimPrefix(base, "qemu-system-"), arch, m.qemu, m.pkg, m.deps)
}

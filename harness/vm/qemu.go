// SPDX-License-Identifier: MIT

package vm

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// QEMU is the QEMU command: the binary and the arguments that go before
// cnvmtest's own. VMTEST_QEMU sets both, as github.com/hugelgupf/vmtest's
// qemu package documents it: a binary followed by arguments, split at
// white space (VMTEST_QEMU='qemu-system-x86_64 -L . -m 4096').
type QEMU struct {
	Path string
	Args []string
}

// String is the command as VMTEST_QEMU would give it.
func (q *QEMU) String() string {
	return strings.Join(append([]string{q.Path}, q.Args...), " ")
}

// optName is the option an argument names: "-m" for "-m", "--m" or
// "-m=1G".
func optName(a string) string {
	name, _, _ := strings.Cut(a, "=")
	return "-" + strings.TrimLeft(name, "-")
}

// reservedArg returns the first argument that names a reserved option.
func reservedArg(args []string) string {
	for _, a := range args {
		if strings.HasPrefix(a, "-") && slices.Contains(reserved, optName(a)) {
			return a
		}
	}
	return ""
}

// has reports whether the user's arguments set one of the options.
func (q *QEMU) has(opts ...string) bool {
	if q == nil {
		return false
	}
	for _, a := range q.Args {
		if strings.HasPrefix(a, "-") && slices.Contains(opts, optName(a)) {
			return true
		}
	}
	return false
}

// Accel returns the accelerator the user's arguments choose, "" when
// they choose none.
func (q *QEMU) Accel() Accel {
	if q == nil {
		return ""
	}
	for i, a := range q.Args {
		switch {
		case a == "-enable-kvm" || a == "--enable-kvm":
			return KVM
		case (a == "-accel" || a == "--accel") && i+1 < len(q.Args):
			if strings.HasPrefix(q.Args[i+1], "kvm") {
				return KVM
			}
			return TCG
		}
	}
	return ""
}

// reserved are options that cnvmtest must set itself: the kernel, the
// initramfs and command line it chose, the two serial ports the console
// and the result stream use, and the ending of the guest.
var reserved = []string{
	"-kernel", "-initrd", "-append", "-serial", "-chardev", "-monitor",
	"-mon", "-qmp", "-no-reboot", "-no-shutdown", "-daemonize", "-S",
	"-nographic", "-display", "-nodefaults",
}

// FindQEMU returns the QEMU command of amd64 guests: name when given, else
// VMTEST_QEMU, else DefaultQEMU. It fails with advice when the binary is
// missing or the arguments take over what cnvmtest must set.
func FindQEMU(name string) (*QEMU, error) { return FindQEMUFor(name, AMD64) }

// FindQEMUFor is FindQEMU for guests of arch (AMD64, ARM64, S390X): its
// default is DefaultQEMUFor(arch), and a binary named for another
// architecture (qemu-system-x86_64 for arm64) is refused.
func FindQEMUFor(name, arch string) (*QEMU, error) {
	m, err := machineFor(arch)
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(name)
	from := "QEMU"
	if len(fields) == 0 {
		fields = strings.Fields(os.Getenv("VMTEST_QEMU"))
		from = "VMTEST_QEMU"
	}
	if len(fields) == 0 {
		fields = []string{m.qemu}
	}
	q := &QEMU{Path: fields[0], Args: fields[1:]}
	if a := reservedArg(q.Args); a != "" {
		return nil, fmt.Errorf("%s=%q: cnvmtest sets %s itself (kernel, initramfs, serial ports and how the guest ends); remove it", from, q.String(), a)
	}
	if err := checkArch(q, from, m, arch); err != nil {
		return nil, err
	}
	p, err := exec.LookPath(q.Path)
	if err != nil {
		return nil, fmt.Errorf("QEMU %q not found: install it with `make %s` (Debian package %s) or set VMTEST_QEMU to a QEMU binary and its first arguments: %w", q.Path, m.deps, m.pkg, err)
	}
	q.Path = p
	return q, nil
}

// QEMUPath resolves the QEMU binary alone, as FindQEMU does.
func QEMUPath(name string) (string, error) {
	q, err := FindQEMU(name)
	if err != nil {
		return "", err
	}
	return q.Path, nil
}

// CheckEnv rejects the VMTEST_* variables of vmtest's qemu package that
// would silently replace what cnvmtest chose. The others are honoured as
// vmtest documents them: VMTEST_QEMU (FindQEMU), VMTEST_QEMU_APPEND and
// VMTEST_KERNEL_APPEND (added to QEMU's and the kernel's arguments),
// VMTEST_TIMEOUT (the default of -timeout), VMTEST_ARCH (which must be the
// kernel's architecture, arch: the kernel spec chooses it).
func CheckEnv(arch string) error {
	for _, v := range []struct{ name, use string }{
		{"VMTEST_KERNEL", "-kernel path:IMAGE,KDIR (or another kernel spec)"},
		{"VMTEST_INITRAMFS", "-file and -env to add to the guest (cnvmtest builds the initramfs)"},
		{"VMTEST_INITRAMFS_OVERRIDE", "-file and -env to add to the guest (cnvmtest builds the initramfs)"},
	} {
		if os.Getenv(v.name) != "" {
			return fmt.Errorf("%s is set, but cnvmtest chooses the kernel and the initramfs itself: unset it and use %s", v.name, v.use)
		}
	}
	if arch == "" {
		arch = AMD64
	}
	if a := os.Getenv("VMTEST_ARCH"); a != "" && a != arch && !(a == "x86_64" && arch == AMD64) && !(a == "aarch64" && arch == ARM64) && !(a == "s390x" && arch == S390X) {
		return fmt.Errorf("VMTEST_ARCH=%q, but the kernel is %s: the kernel spec chooses the guest's architecture (@arm64); unset it", a, arch)
	}
	if a := reservedArg(strings.Fields(os.Getenv("VMTEST_QEMU_APPEND"))); a != "" {
		return fmt.Errorf("VMTEST_QEMU_APPEND=%q: cnvmtest sets %s itself (kernel, initramfs, serial ports and how the guest ends); remove it", os.Getenv("VMTEST_QEMU_APPEND"), a)
	}
	if _, err := FindQEMUFor("", arch); err != nil && os.Getenv("VMTEST_QEMU") != "" {
		return err
	}
	return nil
}

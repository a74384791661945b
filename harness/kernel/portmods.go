// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// portModule is a module a guest needs before its result port exists,
// and the option that builds the driver in instead.
type portModule struct {
	path   string // under lib/modules/RELEASE/kernel/
	option string
}

// portModules are, per architecture, the modules that drive the result
// port (see harness/vm). An s390x guest's only built-in consoles are the
// SCLP's: its VT220 console, which the kernel always enables as a console
// under KVM and TCG (arch/s390/kernel/setup.c, conmode_default), and its
// line-mode console, which expands tabs and breaks lines at 320 columns
// (drivers/s390/char/sclp_tty.c, SCLP_TTY_COLUMNS). Neither can carry the
// results apart from kernel messages, so the result port is a virtio
// serial port on the virtio-ccw transport, which is built in
// (CONFIG_S390_GUEST), driven by virtio_console, which Debian builds as a
// module (CONFIG_VIRTIO_CONSOLE=m, no dependencies).
var portModules = map[string][]portModule{
	S390x: {{path: "drivers/char/virtio_console.ko", option: "CONFIG_VIRTIO_CONSOLE"}},
}

// keptModules are the modules of arch's image package that the store
// unpacks although it skips modules.
func keptModules(arch string) []string {
	var paths []string
	for _, m := range portModules[arch] {
		paths = append(paths, m.path)
	}
	return paths
}

// findPortModules sets k.PortModules from what unpackAll kept under root:
// each module uncompressed, unless the kernel's config builds it in.
func findPortModules(ctx context.Context, k *Kernel, root string) error {
	mods := portModules[k.Arch]
	if len(mods) == 0 {
		return nil
	}
	config, err := os.ReadFile(k.Config)
	if err != nil {
		return err
	}
	for _, m := range mods {
		if bytes.Contains(config, []byte("\n"+m.option+"=y\n")) {
			continue
		}
		if !bytes.Contains(config, []byte("\n"+m.option+"=m\n")) {
			return fmt.Errorf("the kernel has no %s, which the %s result port needs (set %s=y or =m)", m.option, k.Arch, m.option)
		}
		ko, err := unpackedModule(ctx, root, k.Release, m.path)
		if err != nil {
			return err
		}
		k.PortModules = append(k.PortModules, ko)
	}
	return nil
}

// unpackedModule finds release's module path under root, decompressing
// a .ko.xz or .ko.zst next to it: the guest's runner loads modules with
// init_module, which takes an ELF image.
func unpackedModule(ctx context.Context, root, release, path string) (string, error) {
	for _, dir := range []string{"lib/modules", "usr/lib/modules"} {
		ko := filepath.Join(root, dir, release, "kernel", path)
		if _, err := os.Stat(ko); err == nil {
			return ko, nil
		}
		for _, z := range []struct{ ext, cmd string }{{".xz", "xz"}, {".zst", "zstd"}, {".gz", "gzip"}} {
			if _, err := os.Stat(ko + z.ext); err != nil {
				continue
			}
			out, err := exec.CommandContext(ctx, z.cmd, "-d", "-k", "-f", ko+z.ext).CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("decompressing %s: %w: %s", filepath.Base(ko+z.ext), err, strings.TrimSpace(string(out)))
			}
			return ko, nil
		}
	}
	return "", fmt.Errorf("the image package has no %s", path)
}

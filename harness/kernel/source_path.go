// SPDX-License-Identifier: MIT

package kernel

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux"
)

// pathSource is path:, a kernel given by the user, nothing built:
//
//	path:IMAGE,KDIR
//
// IMAGE is an ELF vmlinux with a PVH entry point or a bzImage, KDIR the
// configured, built tree modules build against.
type pathSource struct{}

func (pathSource) name() string { return SourcePath }
func (pathSource) built() bool  { return false }

func (pathSource) parse(spec *Spec, arg string) error {
	image, kdir, ok := strings.Cut(arg, ",")
	if !ok || image == "" || kdir == "" {
		return fmt.Errorf("%w: want path:IMAGE,KDIR (a vmlinux or bzImage, and the kernel's build tree)", errArgument)
	}
	spec.Image, spec.KDir = image, kdir
	return nil
}

func (pathSource) argument(spec Spec) string { return spec.Image + "," + spec.KDir }

func (pathSource) describe(k *Kernel) (summary, version string) {
	return fmt.Sprintf("%s (%s)", k.Release, k.Image), ""
}

func (pathSource) named(k *Kernel) Spec {
	return Spec{Source: SourcePath, Image: k.Image, KDir: k.BuildDir}
}

// matches is false: path: kernels are not stored.
func (pathSource) matches(Spec, *Kernel) bool { return false }

// get checks the image and kbuild tree a path: spec names and describes
// them. Nothing is copied or built: the files stay the user's.
func (pathSource) get(_ context.Context, _ *Store, spec Spec, _ *progress) (*Kernel, error) {
	image, err := filepath.Abs(spec.Image)
	if err != nil {
		return nil, err
	}
	kdir, err := filepath.Abs(spec.KDir)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Source: SourcePath, Image: image, BuildDir: kdir, Config: filepath.Join(kdir, ".config")}
	if err := checkImage(k); err != nil {
		return nil, fmt.Errorf("image %s: %w", image, err)
	}
	if err := checkKDir(k); err != nil {
		return nil, fmt.Errorf("kbuild tree %s: %w", kdir, err)
	}
	if m := filepath.Join(kdir, "System.map"); fileExists(m) {
		k.SystemMap = m
	}
	return k, nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// checkImage tells an ELF vmlinux from a bzImage; QEMU boots an ELF only
// through its PVH entry point.
func checkImage(k *Kernel) error {
	b, err := os.ReadFile(k.Image)
	if err != nil {
		return err
	}
	switch {
	case bytes.HasPrefix(b, []byte(elf.ELFMAG)):
		pvh, err := vmlinux.HasPVHEntry(b)
		if err != nil {
			return fmt.Errorf("reading the ELF notes: %w", err)
		}
		if !pvh {
			return errors.New("an ELF vmlinux without a PVH entry note (CONFIG_PVH): QEMU cannot boot it; give the bzImage (arch/x86/boot/bzImage) instead")
		}
		k.Vmlinux, k.PVH = k.Image, true
	case len(b) > 0x206 && string(b[0x202:0x206]) == "HdrS":
		k.BzImage = k.Image
		k.ImageFallback = "given a bzImage: booting it, with decompression in the guest (a vmlinux with CONFIG_PVH boots faster)"
	default:
		return errors.New("neither an ELF vmlinux nor a bzImage")
	}
	return nil
}

// checkKDir checks what "make -C KDIR M=… modules" needs, and reads the
// release and compiler.
func checkKDir(k *Kernel) error {
	if fi, err := os.Stat(k.BuildDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("not a directory: %v", orOK(err))
	}
	rel, err := os.ReadFile(filepath.Join(k.BuildDir, "include/config/kernel.release"))
	if err != nil {
		return fmt.Errorf("not a configured and prepared kernel tree (run make modules_prepare in it): %w", err)
	}
	k.Release = strings.TrimSpace(string(rel))
	config, err := os.ReadFile(k.Config)
	if err != nil {
		return fmt.Errorf("no .config: %w", err)
	}
	k.CC = ccVersionText(config)
	for _, need := range []string{"Makefile", "Module.symvers"} {
		if !fileExists(filepath.Join(k.BuildDir, need)) {
			return fmt.Errorf("no %s: modules cannot link against it (build the kernel there, or run make modules, which writes Module.symvers)", need)
		}
	}
	return nil
}

// SPDX-License-Identifier: MIT

package vmlinux

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// An arm64 kernel image starts with a 64-byte header whose bytes 56–59
// are the magic "ARM\x64" (Documentation/arch/arm64/booting.rst, "Call
// the kernel image"); QEMU's -kernel loads such an Image as it is. A
// vmlinuz may instead be the Image gzip'd (Debian's arm64 packages before
// 6.1 shipped that), or an EFI zboot image (CONFIG_EFI_ZBOOT): a PE file
// whose header, written by drivers/firmware/efi/libstub/zboot-header.S,
// holds "zimg" at offset 4, the payload's offset and size at 8 and 12,
// and the name of its compression at 24. QEMU 7.2 (hw/arm/boot.c,
// load_aarch64_image) undoes gzip but not zboot, so both are undone here
// once, in the store, and QEMU always gets the Image.

// arm64Magic is the Image header's magic number, at arm64MagicOffset.
const (
	arm64Magic       = "ARM\x64"
	arm64MagicOffset = 56
)

// IsArm64Image reports whether b starts with an arm64 Image header.
func IsArm64Image(b []byte) bool {
	return len(b) >= arm64MagicOffset+4 && string(b[arm64MagicOffset:arm64MagicOffset+4]) == arm64Magic
}

// Arm64Image returns the uncompressed arm64 Image in a vmlinuz: the
// vmlinuz itself when it is one, else what its gzip or EFI zboot payload
// holds. from says which.
func Arm64Image(ctx context.Context, vmlinuz []byte) (image []byte, from string, err error) {
	switch {
	case IsArm64Image(vmlinuz):
		return vmlinuz, "Image", nil
	case bytes.HasPrefix(vmlinuz, compressionNamed("gzip").magic):
		image, err = gunzip(ctx, vmlinuz)
		from = "gzip'd Image"
	case len(vmlinuz) >= 32 && string(vmlinuz[:2]) == "MZ" && string(vmlinuz[4:8]) == "zimg":
		image, from, err = zbootPayload(ctx, vmlinuz)
	default:
		return nil, "", errors.New("not an arm64 kernel: neither an Image (no \"ARM\\x64\" magic at offset 56), nor gzip'd, nor an EFI zboot image")
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", from, err)
	}
	if !IsArm64Image(image) {
		return nil, "", fmt.Errorf("%s: the payload is no arm64 Image (no \"ARM\\x64\" magic at offset 56)", from)
	}
	return image, from, nil
}

// zbootPayload decompresses an EFI zboot image's payload.
func zbootPayload(ctx context.Context, z []byte) ([]byte, string, error) {
	le := binary.LittleEndian
	off, size := int(le.Uint32(z[8:12])), int(le.Uint32(z[12:16]))
	name, _, _ := bytes.Cut(z[24:32], []byte{0})
	from := fmt.Sprintf("EFI zboot image (%s payload at %#x)", name, off)
	if off < 32 || size <= 0 || off+size > len(z) {
		return nil, from, fmt.Errorf("payload %#x+%#x outside the file (%#x bytes)", off, size, len(z))
	}
	c := compressionNamed(string(name))
	if c == nil {
		return nil, from, fmt.Errorf("unknown compression %q", name)
	}
	out, err := c.decompress(ctx, z[off:off+size])
	return out, from, err
}

func compressionNamed(name string) *compression {
	for i := range compressions {
		if compressions[i].name == name {
			return &compressions[i]
		}
	}
	return nil
}

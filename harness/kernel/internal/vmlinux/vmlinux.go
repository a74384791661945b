// SPDX-License-Identifier: MIT

// Package vmlinux gets the uncompressed kernel out of an x86 bzImage, and
// reads the ELF note that says QEMU can boot it directly (PVH); for arm64,
// the Image out of a vmlinuz (arm64.go).
package vmlinux

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// A bzImage is the real-mode setup code, a small decompressor and the
// compressed kernel (Documentation/arch/x86/boot.rst). Since boot protocol
// 2.08 the setup header says where that payload lies, and the payload's last
// four bytes hold the uncompressed size (size_append in
// scripts/Makefile.lib). Images without a usable header are searched for
// the compressors' magic numbers instead.

// maxVmlinux bounds decompression; stripped vmlinux files are under 100 MB.
const maxVmlinux = 1 << 30

// xzCommand decompresses xz: Debian's kernels use the x86 BCJ filter, which
// github.com/ulikunitz/xz cannot undo. Without the command the Go decoder
// still reads streams without filters.
var xzCommand = "xz"

type compression struct {
	name       string
	magic      []byte
	decompress func(ctx context.Context, data []byte) ([]byte, error)
}

var compressions = []compression{
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, unxz},
	{"gzip", []byte{0x1f, 0x8b, 0x08}, gunzip},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}, unzstd},
}

// payload is a place in a bzImage that may hold the compressed kernel.
type payload struct {
	offset int
	data   []byte
	size   int // uncompressed size the image records; 0 when unknown
	c      *compression
}

// maxScanned bounds the magic-number candidates tried per compressor.
const maxScanned = 16

// Extract returns the uncompressed ELF kernel inside a bzImage and
// says where it was found.
func Extract(ctx context.Context, bz []byte) (vmlinux []byte, from string, err error) {
	var errs []error
	for _, p := range payloads(bz) {
		out, err := p.c.decompress(ctx, p.data)
		if out != nil && (err == nil || p.size == 0) {
			// A payload found by scanning has an unknown end, so a
			// decoder may complain about what follows it; the ELF
			// checks decide.
			err = checkELF(out, p.size)
		}
		if err == nil {
			return out, fmt.Sprintf("%s payload at %#x", p.c.name, p.offset), nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s at %#x: %w", p.c.name, p.offset, err))
	}
	if len(errs) == 0 {
		return nil, "", errors.New("no xz, gzip or zstd payload in the image")
	}
	return nil, "", fmt.Errorf("no payload decompressed to an ELF kernel: %w", errors.Join(errs[:min(len(errs), 4)]...))
}

// payloads lists the candidates: the one the setup header names, then every
// magic number.
func payloads(bz []byte) []payload {
	var all []payload
	seen := map[int]bool{}
	if p, ok := headerPayload(bz); ok {
		all = append(all, p)
		seen[p.offset] = true
	}
	for i := range compressions {
		c := &compressions[i]
		for off, n := 0, 0; n < maxScanned; n++ {
			j := bytes.Index(bz[off:], c.magic)
			if j < 0 {
				break
			}
			off += j
			if !seen[off] {
				all = append(all, payload{offset: off, data: bz[off:], c: c})
			}
			off++
		}
	}
	return all
}

func headerPayload(bz []byte) (payload, bool) {
	le := binary.LittleEndian
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" || le.Uint16(bz[0x206:]) < 0x208 {
		return payload{}, false
	}
	setup := int(bz[0x1f1])
	if setup == 0 {
		setup = 4
	}
	start := (setup+1)*512 + int(le.Uint32(bz[0x248:]))
	n := int(le.Uint32(bz[0x24c:]))
	if n < 8 || start+n > len(bz) {
		return payload{}, false
	}
	data := bz[start : start+n]
	for i := range compressions {
		if c := &compressions[i]; bytes.HasPrefix(data, c.magic) {
			return payload{offset: start, data: data[:n-4], size: int(le.Uint32(data[n-4:])), c: c}, true
		}
	}
	return payload{}, false
}

func unxz(ctx context.Context, data []byte) ([]byte, error) {
	if path, err := exec.LookPath(xzCommand); err == nil {
		cmd := exec.CommandContext(ctx, path, "--decompress", "--stdout", "--single-stream", "--quiet")
		cmd.Stdin = bytes.NewReader(data)
		var out, stderr bytes.Buffer
		cmd.Stdout = &limitedWriter{w: &out, n: maxVmlinux}
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if lines := strings.Split(msg, "\n"); len(lines) > 2 {
				msg = strings.Join(lines[len(lines)-2:], "\n")
			}
			if msg != "" {
				msg = "\n\t" + strings.ReplaceAll(msg, "\n", "\n\t")
			}
			return nil, fmt.Errorf("xz: %w%s", err, msg)
		}
		return out.Bytes(), nil
	}
	r, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (install xz-utils for streams with BCJ filters)", err)
	}
	return readAll(r)
}

func gunzip(_ context.Context, data []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	r.Multistream(false)
	return readAll(r)
}

func unzstd(_ context.Context, data []byte) ([]byte, error) {
	r, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxVmlinux))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r)
}

// readAll reads up to maxVmlinux bytes, returning what it read even on error.
func readAll(r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxVmlinux+1))
	if len(out) > maxVmlinux {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxVmlinux)
	}
	return out, err
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, fmt.Errorf("decompresses to more than %d bytes", maxVmlinux)
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// CheckELF reports whether b is a complete ELF executable.
func CheckELF(b []byte) error { return checkELF(b, 0) }

// checkELF accepts a complete ELF executable of the recorded size.
func checkELF(b []byte, size int) error {
	if size != 0 && len(b) != size {
		return fmt.Errorf("decompressed %d bytes, the image records %d", len(b), size)
	}
	if !bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
		return errors.New("not an ELF file")
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if len(f.Progs) == 0 {
		return errors.New("ELF file has no program headers")
	}
	for _, p := range f.Progs {
		if p.Off+p.Filesz > uint64(len(b)) {
			return fmt.Errorf("ELF segment at %#x+%#x past the end (%#x): truncated", p.Off, p.Filesz, len(b))
		}
	}
	return nil
}

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY
// (include/xen/interface/elfnote.h): the 32-bit PVH entry point QEMU jumps
// to when -kernel is an ELF file.
const xenElfnotePhys32Entry = 18

// HasPVHEntry reports whether an ELF kernel carries the PVH entry note.
func HasPVHEntry(b []byte) (bool, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_NOTE && p.Off+p.Filesz <= uint64(len(b)) &&
			xenNote(b[p.Off:p.Off+p.Filesz], f.ByteOrder, xenElfnotePhys32Entry) {
			return true, nil
		}
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOTE && s.Offset+s.Size <= uint64(len(b)) &&
			xenNote(b[s.Offset:s.Offset+s.Size], f.ByteOrder, xenElfnotePhys32Entry) {
			return true, nil
		}
	}
	return false, nil
}

// xenNote looks for a note of the given type in the "Xen" namespace. Notes
// are (namesz, descsz, type, name, desc), name and desc padded to 4 bytes.
func xenNote(notes []byte, order binary.ByteOrder, typ uint32) bool {
	align := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(notes) >= 12 {
		namesz, descsz := uint64(order.Uint32(notes)), uint64(order.Uint32(notes[4:]))
		t := order.Uint32(notes[8:])
		end := 12 + align(namesz) + align(descsz)
		if end > uint64(len(notes)) {
			return false
		}
		if t == typ && string(notes[12:12+namesz]) == "Xen\x00" {
			return true
		}
		notes = notes[end:]
	}
	return false
}

// SPDX-License-Identifier: MIT

// Package vmlinuxtest builds stand-ins for kernel images, for tests: a
// small ELF kernel with or without the PVH note, and a bzImage around a
// compressed payload laid out as arch/x86/boot/header.S does.
package vmlinuxtest

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
)

// FakeELF builds a small x86-64 ELF executable: a PT_LOAD segment and a
// PT_NOTE segment with Xen notes, including the PVH entry when pvh is set.
func FakeELF(pvh bool) []byte {
	le := binary.LittleEndian
	var notes bytes.Buffer
	note := func(typ uint32, desc []byte) {
		binary.Write(&notes, le, [3]uint32{4, uint32(len(desc)), typ})
		notes.WriteString("Xen\x00")
		notes.Write(desc)
		notes.Write(make([]byte, (4-len(desc)%4)%4))
	}
	note(6, []byte("linux\x00")) // XEN_ELFNOTE_GUEST_OS
	if pvh {
		note(18 /* XEN_ELFNOTE_PHYS32_ENTRY */, le.AppendUint32(nil, 0x1000000))
	}
	text := bytes.Repeat([]byte("\x90kernel text "), 4096)

	const ehsize, phsize = 64, 56
	noteOff := uint64(ehsize + 2*phsize)
	textOff := noteOff + uint64(notes.Len())
	var b bytes.Buffer
	hdr := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: 0x1000000, Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: 2, Shentsize: 64,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS], hdr.Ident[elf.EI_DATA], hdr.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.Write(&b, le, hdr)
	binary.Write(&b, le, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Off: textOff,
		Vaddr: 0xffffffff81000000, Paddr: 0x1000000, Filesz: uint64(len(text)), Memsz: uint64(len(text)), Align: 16})
	binary.Write(&b, le, elf.Prog64{Type: uint32(elf.PT_NOTE), Off: noteOff, Filesz: uint64(notes.Len()), Memsz: uint64(notes.Len()), Align: 4})
	b.Write(notes.Bytes())
	b.Write(text)
	return b.Bytes()
}

// Gzip compresses b as the kernel's build does with gzip.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// Junk is setup code stand-in that holds false magic numbers.
var Junk = []byte("\xeb\x3c MZ setup code \xfd7zXZ\x00 not xz \x1f\x8b\x08 not gzip (\xb5/\xfd not zstd ")

// Sized appends the uncompressed size as the kernel's build does.
func Sized(payload []byte, size int) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), payload...), uint32(size))
}

// WithSetupHeader wraps a payload in a bzImage whose setup header (boot
// protocol 2.15) records where the payload is.
func WithSetupHeader(payload []byte) []byte {
	le := binary.LittleEndian
	const setupSects = 3
	bz := make([]byte, (setupSects+1)*512)
	copy(bz, Junk)
	bz[0x1f1] = setupSects
	copy(bz[0x202:], "HdrS")
	le.PutUint16(bz[0x206:], 0x020f)
	decompressor := append([]byte("decompressor "), Junk...)
	le.PutUint32(bz[0x248:], uint32(len(decompressor)))
	le.PutUint32(bz[0x24c:], uint32(len(payload)))
	bz = append(bz, decompressor...)
	bz = append(bz, payload...)
	return append(bz, "trailing padding"...)
}

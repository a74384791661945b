package kernel

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// fakeELF builds a small x86-64 ELF executable: a PT_LOAD segment and a
// PT_NOTE segment with Xen notes, including the PVH entry when pvh is set.
func fakeELF(t *testing.T, pvh bool) []byte {
	t.Helper()
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
		note(xenElfnotePhys32Entry, le.AppendUint32(nil, 0x1000000))
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

func compressXZ(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// compressXZBCJ compresses as the kernel's build does, with the x86 filter.
func compressXZBCJ(t *testing.T, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("no xz command")
	}
	cmd := exec.Command("xz", "--format=xz", "--check=crc32", "--x86", "--lzma2=dict=1MiB", "--stdout")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compressGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func compressZstd(t *testing.T, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// junk is setup code stand-in that holds false magic numbers.
var junk = []byte("\xeb\x3c MZ setup code \xfd7zXZ\x00 not xz \x1f\x8b\x08 not gzip (\xb5/\xfd not zstd ")

// sized appends the uncompressed size as the kernel's build does.
func sized(payload []byte, size int) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), payload...), uint32(size))
}

// withSetupHeader wraps a payload in a bzImage whose setup header (boot
// protocol 2.15) records where the payload is.
func withSetupHeader(payload []byte) []byte {
	le := binary.LittleEndian
	const setupSects = 3
	bz := make([]byte, (setupSects+1)*512)
	copy(bz, junk)
	bz[0x1f1] = setupSects
	copy(bz[0x202:], "HdrS")
	le.PutUint16(bz[0x206:], 0x020f)
	decompressor := append([]byte("decompressor "), junk...)
	le.PutUint32(bz[0x248:], uint32(len(decompressor)))
	le.PutUint32(bz[0x24c:], uint32(len(payload)))
	bz = append(bz, decompressor...)
	bz = append(bz, payload...)
	return append(bz, "trailing padding"...)
}

func afterJunk(c string) string { return fmt.Sprintf("%s payload at %#x", c, len(junk)) }

func behindHeader(c string) string {
	return fmt.Sprintf("%s payload at %#x", c, 4*512+len("decompressor ")+len(junk))
}

func TestExtractVmlinux(t *testing.T) {
	elfPVH := fakeELF(t, true)
	tests := []struct {
		name  string
		bz    func(t *testing.T) []byte
		noXZ  bool   // decompress xz in Go rather than with the command
		from  string // where the payload should be found; "" for an error
		error string
	}{
		{name: "xz after junk", bz: func(t *testing.T) []byte {
			return append(append(append([]byte(nil), junk...), sized(compressXZ(t, elfPVH), len(elfPVH))...), "tail"...)
		}, from: afterJunk("xz")},
		{name: "xz after junk, Go decoder", noXZ: true, bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), junk...), sized(compressXZ(t, elfPVH), len(elfPVH))...)
		}, from: afterJunk("xz")},
		{name: "xz with x86 filter behind a setup header", bz: func(t *testing.T) []byte {
			return withSetupHeader(sized(compressXZBCJ(t, elfPVH), len(elfPVH)))
		}, from: behindHeader("xz")},
		{name: "gzip behind a setup header", bz: func(t *testing.T) []byte {
			return withSetupHeader(sized(compressGzip(t, elfPVH), len(elfPVH)))
		}, from: behindHeader("gzip")},
		{name: "gzip after junk", bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), junk...), sized(compressGzip(t, elfPVH), len(elfPVH))...)
		}, from: afterJunk("gzip")},
		{name: "zstd behind a setup header", bz: func(t *testing.T) []byte {
			return withSetupHeader(sized(compressZstd(t, elfPVH), len(elfPVH)))
		}, from: behindHeader("zstd")},
		{name: "zstd after junk", bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), junk...), sized(compressZstd(t, elfPVH), len(elfPVH))...)
		}, from: afterJunk("zstd")},
		{name: "wrong recorded size", bz: func(t *testing.T) []byte {
			return withSetupHeader(sized(compressGzip(t, elfPVH), len(elfPVH)+1))
		}, error: "the image records"},
		{name: "not an ELF", bz: func(t *testing.T) []byte {
			text := bytes.Repeat([]byte("not a kernel "), 100)
			return append(append([]byte(nil), junk...), sized(compressXZ(t, text), len(text))...)
		}, error: "not an ELF file"},
		{name: "truncated", bz: func(t *testing.T) []byte {
			z := compressXZ(t, elfPVH)
			return append(append([]byte(nil), junk...), z[:len(z)/2]...)
		}, error: "no payload decompressed"},
		{name: "nothing compressed", bz: func(t *testing.T) []byte {
			return []byte("just some bytes")
		}, error: "no xz, gzip or zstd payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noXZ {
				old := xzCommand
				xzCommand = "cnvmtest-no-such-xz"
				t.Cleanup(func() { xzCommand = old })
			}
			got, from, err := extractVmlinux(context.Background(), tt.bz(t))
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("extractVmlinux error = %v, want one containing %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("extractVmlinux: %v", err)
			}
			if from != tt.from {
				t.Errorf("found the %s, want the %s", from, tt.from)
			}
			if !bytes.Equal(got, elfPVH) {
				t.Errorf("extracted %d bytes that differ from the %d-byte ELF", len(got), len(elfPVH))
			}
		})
	}
}

func TestHasPVHEntry(t *testing.T) {
	for _, pvh := range []bool{true, false} {
		got, err := hasPVHEntry(fakeELF(t, pvh))
		if err != nil || got != pvh {
			t.Errorf("hasPVHEntry(ELF with PVH note %v) = %v, %v", pvh, got, err)
		}
	}
}

func TestExtractImage(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		pvh      bool
		fallback string
	}{
		{name: "PVH", payload: fakeELF(t, true), pvh: true},
		{name: "no PVH note", payload: fakeELF(t, false), fallback: "no PVH entry note"},
		{name: "not a kernel", payload: []byte("garbage"), fallback: "extracting vmlinux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			k := &Kernel{BzImage: filepath.Join(dir, "vmlinuz")}
			bz := withSetupHeader(sized(compressGzip(t, tt.payload), len(tt.payload)))
			if err := os.WriteFile(k.BzImage, bz, 0o644); err != nil {
				t.Fatal(err)
			}
			vmlinux := filepath.Join(dir, "vmlinux")
			if err := extractImage(context.Background(), k, vmlinux); err != nil {
				t.Fatal(err)
			}
			if k.PVH != tt.pvh || !strings.Contains(k.ImageFallback, tt.fallback) || (tt.fallback == "") != (k.ImageFallback == "") {
				t.Fatalf("PVH = %v, ImageFallback = %q; want %v and %q", k.PVH, k.ImageFallback, tt.pvh, tt.fallback)
			}
			want := vmlinux
			if tt.fallback != "" {
				want = k.BzImage
			}
			if k.Image != want {
				t.Errorf("Image = %s, want %s", k.Image, want)
			}
		})
	}
}

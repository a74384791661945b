// SPDX-License-Identifier: MIT

package vmlinux

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// fakeArm64Image is an Image header (Documentation/arch/arm64/booting.rst)
// followed by n bytes of a pattern.
func fakeArm64Image(n int) []byte {
	b := make([]byte, 64+n)
	copy(b, "MZ")
	binary.LittleEndian.PutUint64(b[16:], uint64(len(b))) // image_size
	copy(b[56:], "ARM\x64")
	for i := 64; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// zboot wraps a payload as drivers/firmware/efi/libstub/zboot-header.S
// lays it out: "MZ", "zimg", the payload's offset and size, the
// compression's name, then a PE stub before the payload.
func zboot(payload []byte, comp string) []byte {
	const off = 0x200
	b := make([]byte, off, off+len(payload)+16)
	copy(b, "MZ")
	copy(b[4:], "zimg")
	binary.LittleEndian.PutUint32(b[8:], off)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(payload)))
	copy(b[24:], comp)
	b = append(b, payload...)
	return append(b, make([]byte, 16)...) // the PE's trailing sections
}

func TestArm64Image(t *testing.T) {
	img := fakeArm64Image(1 << 16)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zst := enc.EncodeAll(img, nil)
	for _, c := range []struct {
		name, from string
		in         []byte
	}{
		{"raw", "Image", img},
		{"gzip", "gzip'd Image", gzipped(t, img)},
		{"zboot gzip", "EFI zboot image (gzip payload at 0x200)", zboot(gzipped(t, img), "gzip")},
		{"zboot zstd", "EFI zboot image (zstd payload at 0x200)", zboot(zst, "zstd")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, from, err := Arm64Image(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if from != c.from || !bytes.Equal(got, img) {
				t.Errorf("got %d bytes from %q, want the %d-byte Image from %q", len(got), from, len(img), c.from)
			}
		})
	}
}

func TestArm64ImageRefuses(t *testing.T) {
	img := fakeArm64Image(4096)
	notArm := bytes.Clone(img)
	copy(notArm[56:], "XXXX")
	badOff := zboot(gzipped(t, img), "gzip")
	binary.LittleEndian.PutUint32(badOff[12:], 1<<30)
	for _, c := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"x86 bzImage", append(make([]byte, 0x202), "HdrS"...), "not an arm64 kernel"},
		{"gzip of something else", gzipped(t, notArm), "gzip'd Image: the payload is no arm64 Image"},
		{"zboot of an unknown compression", zboot(gzipped(t, img), "lz77"), `unknown compression "lz77"`},
		{"zboot payload past the end", badOff, "outside the file"},
		{"truncated gzip", gzipped(t, img)[:100], "gzip'd Image: unexpected EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Arm64Image(context.Background(), c.in)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("err = %v, want %q", err, c.err)
			}
		})
	}
}

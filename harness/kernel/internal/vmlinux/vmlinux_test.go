// SPDX-License-Identifier: MIT

package vmlinux

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux/vmlinuxtest"
)

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

func compressZstd(t *testing.T, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func afterJunk(c string) string { return fmt.Sprintf("%s payload at %#x", c, len(vmlinuxtest.Junk)) }

func behindHeader(c string) string {
	return fmt.Sprintf("%s payload at %#x", c, 4*512+len("decompressor ")+len(vmlinuxtest.Junk))
}

func TestExtractVmlinux(t *testing.T) {
	elfPVH := vmlinuxtest.FakeELF(true)
	tests := []struct {
		name  string
		bz    func(t *testing.T) []byte
		noXZ  bool   // decompress xz in Go rather than with the command
		from  string // where the payload should be found; "" for an error
		error string
	}{
		{name: "xz after vmlinuxtest.Junk", bz: func(t *testing.T) []byte {
			return append(append(append([]byte(nil), vmlinuxtest.Junk...), vmlinuxtest.Sized(compressXZ(t, elfPVH), len(elfPVH))...), "tail"...)
		}, from: afterJunk("xz")},
		{name: "xz after vmlinuxtest.Junk, Go decoder", noXZ: true, bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), vmlinuxtest.Junk...), vmlinuxtest.Sized(compressXZ(t, elfPVH), len(elfPVH))...)
		}, from: afterJunk("xz")},
		{name: "xz with x86 filter behind a setup header", bz: func(t *testing.T) []byte {
			return vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(compressXZBCJ(t, elfPVH), len(elfPVH)))
		}, from: behindHeader("xz")},
		{name: "gzip behind a setup header", bz: func(t *testing.T) []byte {
			return vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(vmlinuxtest.Gzip(elfPVH), len(elfPVH)))
		}, from: behindHeader("gzip")},
		{name: "gzip after vmlinuxtest.Junk", bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), vmlinuxtest.Junk...), vmlinuxtest.Sized(vmlinuxtest.Gzip(elfPVH), len(elfPVH))...)
		}, from: afterJunk("gzip")},
		{name: "zstd behind a setup header", bz: func(t *testing.T) []byte {
			return vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(compressZstd(t, elfPVH), len(elfPVH)))
		}, from: behindHeader("zstd")},
		{name: "zstd after vmlinuxtest.Junk", bz: func(t *testing.T) []byte {
			return append(append([]byte(nil), vmlinuxtest.Junk...), vmlinuxtest.Sized(compressZstd(t, elfPVH), len(elfPVH))...)
		}, from: afterJunk("zstd")},
		{name: "wrong recorded size", bz: func(t *testing.T) []byte {
			return vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(vmlinuxtest.Gzip(elfPVH), len(elfPVH)+1))
		}, error: "the image records"},
		{name: "not an ELF", bz: func(t *testing.T) []byte {
			text := bytes.Repeat([]byte("not a kernel "), 100)
			return append(append([]byte(nil), vmlinuxtest.Junk...), vmlinuxtest.Sized(compressXZ(t, text), len(text))...)
		}, error: "not an ELF file"},
		{name: "truncated", bz: func(t *testing.T) []byte {
			z := compressXZ(t, elfPVH)
			return append(append([]byte(nil), vmlinuxtest.Junk...), z[:len(z)/2]...)
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
			got, from, err := Extract(context.Background(), tt.bz(t))
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("Extract error = %v, want one containing %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Extract: %v", err)
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
		got, err := HasPVHEntry(vmlinuxtest.FakeELF(pvh))
		if err != nil || got != pvh {
			t.Errorf("HasPVHEntry(ELF with PVH note %v) = %v, %v", pvh, got, err)
		}
	}
}

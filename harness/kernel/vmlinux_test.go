// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux/vmlinuxtest"
)

func TestExtractImage(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		pvh      bool
		fallback string
	}{
		{name: "PVH", payload: vmlinuxtest.FakeELF(true), pvh: true},
		{name: "no PVH note", payload: vmlinuxtest.FakeELF(false), fallback: "no PVH entry note"},
		{name: "not a kernel", payload: []byte("garbage"), fallback: "extracting vmlinux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			k := &Kernel{BzImage: filepath.Join(dir, "vmlinuz")}
			bz := vmlinuxtest.WithSetupHeader(vmlinuxtest.Sized(vmlinuxtest.Gzip(tt.payload), len(tt.payload)))
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

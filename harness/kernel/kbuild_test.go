// SPDX-License-Identifier: MIT

package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFixBuildDir(t *testing.T) {
	const header = "# cnvmtest unpacked these headers outside /usr/src: paths are relative to this Makefile.\n" +
		"cnvmtest_root := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../../..)\n"
	tests := []struct{ name, in, want string }{
		{
			name: "6.x",
			in:   "include /usr/src/linux-headers-6.1.0-57-common/Makefile\n",
			want: header + "include $(cnvmtest_root)/usr/src/linux-headers-6.1.0-57-common/Makefile\n",
		},
		{
			name: "7.x",
			in:   "KBUILD_OUTPUT=/usr/src/linux-headers-7.2.13+deb14-amd64\ninclude /usr/src/linux-headers-7.2.13+deb14-common/Makefile\n",
			want: header + "KBUILD_OUTPUT=$(cnvmtest_root)/usr/src/linux-headers-7.2.13+deb14-amd64\n" +
				"include $(cnvmtest_root)/usr/src/linux-headers-7.2.13+deb14-common/Makefile\n",
		},
		{name: "already relative", in: "include ../common/Makefile\n", want: "include ../common/Makefile\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := "usr/src/linux-headers-x-amd64"
			mk := filepath.Join(root, dir, "Makefile")
			os.MkdirAll(filepath.Dir(mk), 0o755)
			if err := os.WriteFile(mk, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := fixBuildDir(root, dir); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(mk)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Fatalf("unexpected Makefile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckBuildDir(t *testing.T) {
	layout := func(t *testing.T, scriptsLink string) string {
		root := t.TempDir()
		for name, data := range map[string]string{
			"usr/src/h-amd64/Makefile":           "include $(cnvmtest_root)/usr/src/h-common/Makefile\n",
			"usr/src/h-amd64/.config":            "",
			"usr/src/h-amd64/Module.symvers":     "",
			"usr/src/h-common/Makefile":          "",
			"usr/lib/linux-kbuild-6.1/scripts/x": "",
			"usr/lib/linux-kbuild-6.1/tools/x":   "",
		} {
			os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755)
			os.WriteFile(filepath.Join(root, name), []byte(data), 0o644)
		}
		os.Symlink(scriptsLink, filepath.Join(root, "usr/src/h-amd64/scripts"))
		os.Symlink("../../lib/linux-kbuild-6.1/tools", filepath.Join(root, "usr/src/h-amd64/tools"))
		return root
	}
	if err := checkBuildDir(layout(t, "../../lib/linux-kbuild-6.1/scripts"), "usr/src/h-amd64"); err != nil {
		t.Errorf("good tree: %v", err)
	}
	err := checkBuildDir(layout(t, "/usr/lib/linux-kbuild-6.1/scripts"), "usr/src/h-amd64")
	if err == nil || !strings.Contains(err.Error(), "scripts") {
		t.Errorf("scripts pointing out of the tree: %v", err)
	}
	root := layout(t, "../../lib/linux-kbuild-6.1/scripts")
	os.Remove(filepath.Join(root, "usr/src/h-common/Makefile"))
	if err := checkBuildDir(root, "usr/src/h-amd64"); err == nil || !strings.Contains(err.Error(), "includes a missing file") {
		t.Errorf("missing common Makefile: %v", err)
	}
}

func TestCompilerMismatch(t *testing.T) {
	tests := []struct {
		cc       string
		host     int
		mismatch string
	}{
		{"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", 12, ""},
		{"x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0", 12, "built with gcc 16"},
		{"gcc-10 (Debian 10.2.1-6) 10.2.1 20210110", 12, "built with gcc 10"},
		{"gcc (GCC) 14.2.1 20240912 (Red Hat 14.2.1-3)", 14, ""},
		{"Debian clang version 16.0.6 (15~deb12u1)", 12, "built with clang"},
		{"", 12, "unrecognised compiler"},
	}
	for _, tt := range tests {
		got := compilerMismatch(tt.cc, tt.host, nil)
		if (tt.mismatch == "") != (got == "") || !strings.Contains(got, tt.mismatch) {
			t.Errorf("compilerMismatch(%q, %d) = %q, want %q", tt.cc, tt.host, got, tt.mismatch)
		}
	}
	if got := ccVersionText([]byte("CONFIG_X=y\nCONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n")); got != "gcc-12 (Debian 12.2.0-14) 12.2.0" {
		t.Errorf("ccVersionText = %q", got)
	}
}

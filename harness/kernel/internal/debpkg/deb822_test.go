// SPDX-License-Identifier: MIT

package debpkg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDepends(t *testing.T) {
	got := Depends("linux-base (>= 4.12~), linux-image-6.12.117+deb12-amd64 (= 6.12.117-1~deb12u1) | linux-image-6.12.117+deb12-amd64-unsigned (= 6.12.117-1~deb12u1), gcc-12:amd64, linux-kbuild-6.12.117+deb12")
	want := []string{"linux-base", "linux-image-6.12.117+deb12-amd64", "linux-image-6.12.117+deb12-amd64-unsigned", "gcc-12", "linux-kbuild-6.12.117+deb12"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unexpected depends (-want +got):\n%s", diff)
	}
}

func TestParseMadison(t *testing.T) {
	out := []byte(`linux-kbuild-6.1 |  6.1.192-3 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
linux-kbuild-6.1 | 6.1.180-1~deb11u1 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
     linux | 6.1.192-3 | http://deb.debian.org/debian-security bookworm-security/main Sources
N: Unable to locate package linux-nothing
`)
	want := []Available{
		{Name: "linux-kbuild-6.1", Version: "6.1.192-3", Suite: "bookworm-security"},
		{Name: "linux-kbuild-6.1", Version: "6.1.180-1~deb11u1", Suite: "bullseye-security"},
	}
	if diff := cmp.Diff(want, ParseMadison(out)); diff != "" {
		t.Fatalf("ParseMadison (-want +got):\n%s", diff)
	}
}

func TestParseStanzas(t *testing.T) {
	out := []byte("Package: linux-source-6.1\nVersion: 6.1.192-3\nDescription: Linux kernel source\n for version 6.1\n\nPackage: gcc-12\nVersion: 12.2.0-14\n")
	want := []map[string]string{
		{"Package": "linux-source-6.1", "Version": "6.1.192-3", "Description": "Linux kernel source\nfor version 6.1"},
		{"Package": "gcc-12", "Version": "12.2.0-14"},
	}
	if diff := cmp.Diff(want, ParseStanzas(out)); diff != "" {
		t.Fatalf("ParseStanzas (-want +got):\n%s", diff)
	}
}

// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// archivePkg is a package in fakeArchive.
type archivePkg struct {
	name, version, suite, depends string
}

// fakeArchive is a small copy of Debian's archive as it stood when this was
// written, with the cases resolution must get right.
var fakeArchive = []archivePkg{
	// bookworm's own 6.1, built with gcc-12, signed and unsigned.
	{"linux-image-6.1.0-57-amd64-unsigned", "6.1.192-3", "bookworm-security", "kmod, linux-base (>= 4.3~)"},
	{"linux-image-6.1.0-57-amd64", "6.1.192-3", "bookworm-security", "kmod, linux-base (>= 4.3~)"},
	{"linux-headers-6.1.0-57-amd64", "6.1.192-3", "bookworm-security", "linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), linux-compiler-gcc-12-x86"},
	{"linux-image-6.1.0-50-amd64-unsigned", "6.1.176-1", "bookworm", "kmod"},
	{"linux-headers-6.1.0-50-amd64", "6.1.176-1", "bookworm", "linux-headers-6.1.0-50-common (= 6.1.176-1), linux-kbuild-6.1 (>= 6.1.176-1), linux-compiler-gcc-12-x86"},
	// An image whose headers are gone.
	{"linux-image-6.1.0-58-amd64-unsigned", "6.1.193-1", "bookworm-security", "kmod"},
	// The 6.1 backport to bullseye, built with gcc-10, and its meta-package.
	{"linux-image-6.1.0-0.deb11.52-amd64-unsigned", "6.1.180-1~deb11u1", "bullseye-security", "kmod"},
	{"linux-headers-6.1.0-0.deb11.52-amd64", "6.1.180-1~deb11u1", "bullseye-security", "linux-headers-6.1.0-0.deb11.52-common (= 6.1.180-1~deb11u1), linux-kbuild-6.1 (>= 6.1.180-1~deb11u1), linux-compiler-gcc-10-x86"},
	{"linux-image-6.1-amd64", "6.1.180-1~deb11u1", "bullseye-security", "linux-image-6.1.0-0.deb11.52-amd64 (= 6.1.180-1~deb11u1)"},
	// Backports whose linux-kbuild the archive no longer has at their
	// version: the real 6.1.0-0.deb11.48, and a newer one that no series
	// spec may pick.
	{"linux-image-6.1.0-0.deb11.48-amd64-unsigned", "6.1.172-1~deb11u1", "bullseye-security", "kmod"},
	{"linux-headers-6.1.0-0.deb11.48-amd64", "6.1.172-1~deb11u1", "bullseye-security", "linux-headers-6.1.0-0.deb11.48-common (= 6.1.172-1~deb11u1), linux-kbuild-6.1 (>= 6.1.172-1~deb11u1), linux-compiler-gcc-10-x86"},
	{"linux-headers-6.1.0-0.deb11.48-common", "6.1.172-1~deb11u1", "bullseye-security", ""},
	{"linux-image-6.1.0-0.deb11.54-amd64-unsigned", "6.1.186-1~deb11u1", "bullseye-security", "kmod"},
	{"linux-headers-6.1.0-0.deb11.54-amd64", "6.1.186-1~deb11u1", "bullseye-security", "linux-headers-6.1.0-0.deb11.54-common (= 6.1.186-1~deb11u1), linux-kbuild-6.1 (>= 6.1.186-1~deb11u1), linux-compiler-gcc-10-x86"},
	{"linux-headers-6.1.0-0.deb11.54-common", "6.1.186-1~deb11u1", "bullseye-security", ""},
	// PREEMPT_RT, with its headers.
	{"linux-image-6.1.0-57-rt-amd64-unsigned", "6.1.192-3", "bookworm-security", "kmod"},
	{"linux-headers-6.1.0-57-rt-amd64", "6.1.192-3", "bookworm-security", "linux-headers-6.1.0-57-common-rt (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), linux-compiler-gcc-12-x86"},
	{"linux-headers-6.1.0-57-common-rt", "6.1.192-3", "bookworm-security", ""},
	// Other flavours and debug symbols share the prefix.
	{"linux-image-6.1.0-57-cloud-amd64-unsigned", "6.1.192-3", "bookworm-security", "kmod"},
	{"linux-image-6.1.0-57-amd64-dbg", "6.1.192-3", "bookworm-security", ""},
	// 6.12 for bookworm (gcc-12) and for trixie (gcc-14), in two suites.
	{"linux-image-6.12.117+deb12-amd64-unsigned", "6.12.117-1~deb12u1", "bookworm-security", "kmod"},
	{"linux-headers-6.12.117+deb12-amd64", "6.12.117-1~deb12u1", "bookworm-security", "linux-base (>= 4.12~), linux-headers-6.12.117+deb12-common (= 6.12.117-1~deb12u1), linux-image-6.12.117+deb12-amd64 (= 6.12.117-1~deb12u1) | linux-image-6.12.117+deb12-amd64-unsigned (= 6.12.117-1~deb12u1), linux-kbuild-6.12.117+deb12, gcc-12"},
	{"linux-image-6.12.118+deb13-amd64-unsigned", "6.12.118-1", "trixie", "kmod"},
	{"linux-image-6.12.118+deb13-amd64-unsigned", "6.12.118-1", "trixie-security", "kmod"},
	{"linux-headers-6.12.118+deb13-amd64", "6.12.118-1", "trixie", "linux-base (>= 4.12~), linux-headers-6.12.118+deb13-common (= 6.12.118-1), linux-kbuild-6.12.118+deb13, gcc-14"},
	{"linux-headers-6.12.118+deb13-amd64", "6.12.118-1", "trixie-security", "linux-base (>= 4.12~), linux-headers-6.12.118+deb13-common (= 6.12.118-1), linux-kbuild-6.12.118+deb13, gcc-14"},
	{"linux-image-6.12-amd64", "6.12.117-1~deb12u1", "bookworm-security", "linux-image-6.12.117+deb12-amd64 (= 6.12.117-1~deb12u1)"},
	// 7.3: a release candidate in experimental with the split packages.
	{"linux-image-7.3-amd64", "7.3~rc7-1~exp1", "experimental", "dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-base-7.3-amd64 (= 7.3~rc7-1~exp1), linux-binary-7.3-amd64 (= 7.3~rc7-1~exp1), linux-modules-7.3-amd64 (= 7.3~rc7-1~exp1)"},
	{"linux-headers-7.3-amd64", "7.3~rc7-1~exp1", "experimental", "gcc-16-for-host, linux-base (>= 4.12~), linux-base-7.3-amd64 (= 7.3~rc7-1~exp1), linux-headers-7.3-common (= 7.3~rc7-1~exp1), linux-kbuild-7.3"},
	// The packages Get downloads besides images and headers.
	{"linux-headers-6.1.0-57-common", "6.1.192-3", "bookworm-security", ""},
	{"linux-kbuild-6.1", "6.1.192-3", "bookworm-security", ""},
	{"linux-headers-6.1.0-50-common", "6.1.176-1", "bookworm", ""},
	{"linux-kbuild-6.1", "6.1.176-1", "bookworm", ""},
	{"linux-headers-6.1.0-0.deb11.52-common", "6.1.180-1~deb11u1", "bullseye-security", ""},
	{"linux-kbuild-6.1", "6.1.180-1~deb11u1", "bullseye-security", ""},
	{"linux-headers-6.12.117+deb12-common", "6.12.117-1~deb12u1", "bookworm-security", ""},
	{"linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1", "bookworm-security", ""},
	{"linux-headers-6.12.118+deb13-common", "6.12.118-1", "trixie", ""},
	{"linux-kbuild-6.12.118+deb13", "6.12.118-1", "trixie", ""},
	{"linux-base-7.3-amd64", "7.3~rc7-1~exp1", "experimental", ""},
	{"linux-binary-7.3-amd64", "7.3~rc7-1~exp1", "experimental", "linux-base-7.3-amd64 (= 7.3~rc7-1~exp1)"},
	{"linux-headers-7.3-common", "7.3~rc7-1~exp1", "experimental", ""},
	{"linux-kbuild-7.3", "7.3~rc7-1~exp1", "experimental", ""},
	// arm64's 6.1, named NAME:arm64 as apt names foreign packages in the
	// store's lists. linux-kbuild-6.1:arm64 holds arm64 programs: the
	// host's must be taken.
	{"linux-image-6.1.0-57-arm64-unsigned:arm64", "6.1.192-3", "bookworm-security", "kmod, linux-base (>= 4.3~)"},
	{"linux-image-6.1.0-57-arm64:arm64", "6.1.192-3", "bookworm-security", "kmod, linux-base (>= 4.3~)"},
	{"linux-headers-6.1.0-57-arm64:arm64", "6.1.192-3", "bookworm-security", "linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), gcc-12"},
	{"linux-kbuild-6.1:arm64", "6.1.192-3", "bookworm-security", ""},
	// Sources, for debian-src:.
	{"linux-source-6.12", "6.12.118-1", "trixie-security", ""},
	{"linux-source-6.12", "6.12.117-1~deb12u1", "bookworm-security", ""},
	{"linux-source-6.12", "6.12.95-1~bpo12+1", "bookworm-backports", ""},
	{"linux-source-6.1", "6.1.192-3", "bookworm-security", ""},
}

// fakeApt answers apt-cache from fakeArchive the way the real one prints,
// and records every command it is asked to run.
type fakeApt struct {
	mu       sync.Mutex
	commands []string
	download func(dir string, pkgs []string) error
}

func (f *fakeApt) run(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	var operands []string
	for i := 1; i < len(args); i++ {
		if args[i] == "-o" {
			i++
		} else if !strings.HasPrefix(args[i], "-") {
			operands = append(operands, args[i])
		}
	}
	f.mu.Lock()
	f.commands = append(f.commands, name+" "+args[0])
	f.mu.Unlock()
	var out strings.Builder
	switch name + " " + args[0] {
	case "apt-cache pkgnames":
		var names []string
		for _, p := range fakeArchive {
			if name, _, _ := strings.Cut(p.name, ":"); strings.HasPrefix(name, operands[0]) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		out.WriteString(strings.Join(slices.Compact(names), "\n") + "\n")
	case "apt-cache madison":
		for _, p := range fakeArchive {
			if slices.Contains(operands, p.name) {
				fmt.Fprintf(&out, "%s | %s | http://deb.debian.org/debian %s/main %s Packages\n", p.name, p.version, p.suite, fakeArch(p.name))
			}
		}
	case "apt-cache show":
		shown := map[string]bool{}
		for _, p := range fakeArchive {
			if id := p.name + "=" + p.version; slices.Contains(operands, id) && !shown[id] {
				shown[id] = true
				name, _, _ := strings.Cut(p.name, ":")
				fmt.Fprintf(&out, "Package: %s\nArchitecture: %s\nVersion: %s\nDepends: %s\nSize: %d\nDescription: Linux\n continued\n\n",
					name, fakeArch(p.name), p.version, p.depends, 1000+len(p.name))
			}
		}
		if len(shown) == 0 {
			return nil, nil, errors.New("E: No packages found")
		}
	case "apt-get update":
		out.WriteString("Hit:1 http://deb.debian.org/debian bookworm InRelease\n")
	case "apt-get download":
		if f.download == nil {
			return nil, nil, errors.New("fakeApt: no downloads")
		}
		return nil, nil, f.download(dir, operands)
	default:
		return nil, nil, fmt.Errorf("fakeApt: unexpected %s %v", name, args[0])
	}
	return []byte(out.String()), nil, nil
}

// fakeArch is the architecture of a package of fakeArchive.
func fakeArch(name string) string {
	switch _, arch, _ := strings.Cut(name, ":"); {
	case arch != "":
		return arch
	case strings.Contains(name, "-common") || strings.HasPrefix(name, "linux-source-"):
		return "all"
	}
	return "amd64"
}

func (f *fakeApt) ran() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.commands)
}

func TestResolve(t *testing.T) {
	pkgs := func(names ...string) []string { return names }
	tests := []struct {
		spec     string
		hostGCC  int
		release  string
		version  string
		suites   []string
		compiler string
		packages []string
		err      string
	}{
		{spec: "debian:6.1", hostGCC: 12, release: "6.1.0-57-amd64", version: "6.1.192-3", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-57-amd64", "linux-headers-6.1.0-57-common", "linux-image-6.1.0-57-amd64-unsigned", "linux-kbuild-6.1")},
		// With gcc-10 on the host the bullseye backport wins although older.
		{spec: "debian:6.1", hostGCC: 10, release: "6.1.0-0.deb11.52-amd64", version: "6.1.180-1~deb11u1", suites: []string{"bullseye-security"}, compiler: "gcc-10",
			packages: pkgs("linux-headers-6.1.0-0.deb11.52-amd64", "linux-headers-6.1.0-0.deb11.52-common", "linux-image-6.1.0-0.deb11.52-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.1", hostGCC: 0, release: "6.1.0-57-amd64", version: "6.1.192-3", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-57-amd64", "linux-headers-6.1.0-57-common", "linux-image-6.1.0-57-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.1+deb11", hostGCC: 12, release: "6.1.0-0.deb11.52-amd64", version: "6.1.180-1~deb11u1", suites: []string{"bullseye-security"}, compiler: "gcc-10",
			packages: pkgs("linux-headers-6.1.0-0.deb11.52-amd64", "linux-headers-6.1.0-0.deb11.52-common", "linux-image-6.1.0-0.deb11.52-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.1.0-50", hostGCC: 12, release: "6.1.0-50-amd64", version: "6.1.176-1", suites: []string{"bookworm"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-50-amd64", "linux-headers-6.1.0-50-common", "linux-image-6.1.0-50-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.1.176-1", hostGCC: 12, release: "6.1.0-50-amd64", version: "6.1.176-1", suites: []string{"bookworm"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-50-amd64", "linux-headers-6.1.0-50-common", "linux-image-6.1.0-50-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.12", hostGCC: 12, release: "6.12.117+deb12-amd64", version: "6.12.117-1~deb12u1", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.12.117+deb12-amd64", "linux-headers-6.12.117+deb12-common", "linux-image-6.12.117+deb12-amd64-unsigned", "linux-kbuild-6.12.117+deb12")},
		{spec: "debian:6.12", hostGCC: 14, release: "6.12.118+deb13-amd64", version: "6.12.118-1", suites: []string{"trixie", "trixie-security"}, compiler: "gcc-14",
			packages: pkgs("linux-headers-6.12.118+deb13-amd64", "linux-headers-6.12.118+deb13-common", "linux-image-6.12.118+deb13-amd64-unsigned", "linux-kbuild-6.12.118+deb13")},
		{spec: "debian:6.12+deb13", hostGCC: 12, release: "6.12.118+deb13-amd64", version: "6.12.118-1", suites: []string{"trixie", "trixie-security"}, compiler: "gcc-14",
			packages: pkgs("linux-headers-6.12.118+deb13-amd64", "linux-headers-6.12.118+deb13-common", "linux-image-6.12.118+deb13-amd64-unsigned", "linux-kbuild-6.12.118+deb13")},
		{spec: "debian:6.12.117+deb12", hostGCC: 14, release: "6.12.117+deb12-amd64", version: "6.12.117-1~deb12u1", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.12.117+deb12-amd64", "linux-headers-6.12.117+deb12-common", "linux-image-6.12.117+deb12-amd64-unsigned", "linux-kbuild-6.12.117+deb12")},
		{spec: "debian:7.3", hostGCC: 12, release: "7.3-amd64", version: "7.3~rc7-1~exp1", suites: []string{"experimental"}, compiler: "gcc-16",
			packages: pkgs("linux-base-7.3-amd64", "linux-binary-7.3-amd64", "linux-headers-7.3-amd64", "linux-headers-7.3-common", "linux-image-7.3-amd64", "linux-kbuild-7.3")},
		{spec: "debian:6.1-rt", hostGCC: 12, release: "6.1.0-57-rt-amd64", version: "6.1.192-3", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-57-common-rt", "linux-headers-6.1.0-57-rt-amd64", "linux-image-6.1.0-57-rt-amd64-unsigned", "linux-kbuild-6.1")},
		{spec: "debian:6.1.0-57-rt", hostGCC: 12, release: "6.1.0-57-rt-amd64", version: "6.1.192-3", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-57-common-rt", "linux-headers-6.1.0-57-rt-amd64", "linux-image-6.1.0-57-rt-amd64-unsigned", "linux-kbuild-6.1")},
		// The cloud image has no headers here.
		{spec: "debian:6.1-cloud", hostGCC: 12, err: "no 6.1 series kernel with headers for cloud-amd64"},
		{spec: "debian:6.1.0-58", hostGCC: 12, err: "no kernel 6.1.0-58; newest of the series:\n\tlinux-image-6.1.0-57-amd64-unsigned 6.1.192-3 (bookworm-security, gcc-12)"},
		{spec: "debian:6.12+deb11", hostGCC: 12, err: "no 6.12 kernel built for Debian 11"},
		{spec: "debian:9.9", hostGCC: 12, err: "no linux-image-9.9* package for amd64 in Debian's archive (searched bullseye…experimental); series there: 6.1, 6.12, 7.3"},
		// arm64: the image and its headers are arm64's, the common
		// headers are all, and linux-kbuild is the host's.
		{spec: "debian:6.1@arm64", hostGCC: 12, release: "6.1.0-57-arm64", version: "6.1.192-3", suites: []string{"bookworm-security"}, compiler: "gcc-12",
			packages: pkgs("linux-headers-6.1.0-57-arm64:arm64", "linux-headers-6.1.0-57-common", "linux-image-6.1.0-57-arm64-unsigned:arm64", "linux-kbuild-6.1")},
		{spec: "debian:6.12@arm64", hostGCC: 12, err: "no linux-image-6.12* package for arm64 in Debian's archive (searched bullseye…experimental); series there: 6.1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s with gcc %d", tt.spec, tt.hostGCC), func(t *testing.T) {
			spec, err := ParseSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			f := &fakeApt{}
			a := &apt{dir: t.TempDir(), lock: t.TempDir() + "/apt.lock", run: f.run}
			r, err := resolve(context.Background(), a, spec, tt.hostGCC)
			if tt.err != "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("resolve error = %v, want ErrNotFound containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			var names []string
			for _, p := range r.Packages {
				if p.Version != tt.version || p.Size == 0 {
					t.Errorf("package %s has version %q and size %d, want version %q and a size", p.Name, p.Version, p.Size, tt.version)
				}
				names = append(names, p.aptName())
			}
			got := []any{r.Release, r.PackageVersion, r.Suites, r.Compiler, names}
			want := []any{tt.release, tt.version, tt.suites, tt.compiler, tt.packages}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("unexpected resolution (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"apt-cache pkgnames", "apt-cache madison", "apt-cache show", "apt-cache madison", "apt-cache show"}, f.ran()); diff != "" {
				t.Errorf("unexpected commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageABI(t *testing.T) {
	tests := []struct {
		name, abi string
		unsigned  bool
	}{
		{"linux-image-6.1.0-57-amd64-unsigned", "6.1.0-57", true},
		{"linux-image-6.1.0-57-amd64", "6.1.0-57", false},
		{"linux-image-5.10.0-32-amd64", "5.10.0-32", false},
		{"linux-image-6.1.0-0.deb11.52-amd64-unsigned", "6.1.0-0.deb11.52", true},
		{"linux-image-6.12.115+deb13.1-amd64-unsigned", "6.12.115+deb13.1", true},
		{"linux-image-7.2.13+deb14-amd64", "7.2.13+deb14", false},
		{"linux-image-7.3-amd64", "7.3", false},
		{"linux-image-6.12.12+bpo-amd64", "6.12.12+bpo", false},
		{"linux-image-6.1.0-57-cloud-amd64", "", false},
		{"linux-image-6.1.0-57-rt-amd64-unsigned", "", false},
		{"linux-image-6.1.0-57-amd64-dbg", "", false},
		{"linux-image-amd64", "", false},
		{"linux-headers-6.1.0-57-amd64", "", false},
	}
	for _, tt := range tests {
		abi, unsigned, ok := imageABI(tt.name, "amd64")
		if ok != (tt.abi != "") || (ok && (abi != tt.abi || unsigned != tt.unsigned)) {
			t.Errorf("imageABI(%q) = %q, %v, %v; want %q, %v", tt.name, abi, unsigned, ok, tt.abi, tt.unsigned)
		}
	}
}

func TestResolveUnbuildable(t *testing.T) {
	for _, tt := range []struct {
		spec, newest string
	}{
		{"debian:6.1.0-0.deb11.48", "debian:6.1.0-0.deb11.52 (6.1.180-1~deb11u1)"},
		{"debian:6.1.172-1~deb11u1", "debian:6.1.0-0.deb11.52 (6.1.180-1~deb11u1)"},
		{"debian:6.1.0-0.deb11.54", "debian:6.1.0-0.deb11.52 (6.1.180-1~deb11u1)"},
	} {
		f := &fakeApt{}
		a := &apt{dir: t.TempDir(), lock: t.TempDir() + "/apt.lock", run: f.run}
		_, err := resolve(context.Background(), a, mustSpec(t, tt.spec), 12)
		var uerr *UnbuildableError
		if !errors.As(err, &uerr) || errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: resolve = %v, want an UnbuildableError", tt.spec, err)
		}
		if uerr.Newest != tt.newest || len(uerr.Missing) != 1 || uerr.Missing[0].Name != "linux-kbuild-6.1" {
			t.Errorf("%s: %+v, want linux-kbuild-6.1 missing and newest %s", tt.spec, uerr, tt.newest)
		}
		if !strings.Contains(err.Error(), "cannot build modules: Debian's archive no longer has linux-kbuild-6.1 ") {
			t.Errorf("%s: error does not say why: %v", tt.spec, err)
		}
		if slices.Contains(f.ran(), "apt-get download") {
			t.Errorf("%s: downloaded before refusing", tt.spec)
		}
	}
	// A series spec passes over them: the newest bullseye 6.1 is .54, which
	// cannot be built for, so .52.
	f := &fakeApt{}
	a := &apt{dir: t.TempDir(), lock: t.TempDir() + "/apt.lock", run: f.run}
	r, err := resolve(context.Background(), a, mustSpec(t, "debian:6.1+deb11"), 10)
	if err != nil || r.Release != "6.1.0-0.deb11.52-amd64" {
		t.Fatalf("debian:6.1+deb11 resolved to %+v, %v; want 6.1.0-0.deb11.52-amd64", r, err)
	}
}

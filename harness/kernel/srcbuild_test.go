// SPDX-License-Identifier: MIT

package kernel

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux/vmlinuxtest"
)

// fakeTree writes a stand-in for a kernel source tree: a top Makefile that
// answers the targets a source build runs (tinyconfig, olddefconfig,
// bzImage modules, run-command) in seconds, a merge_config.sh that
// concatenates, and an install-extmod-build that writes a kbuild tree
// whose "modules" target turns each .c into a .ko. olddefconfig drops the
// options listed in the tree's "unmet" file, as Kconfig drops options
// whose dependencies fail; Kconfig defines all options of the minimal
// flavour but those in "undefined".
func fakeTree(t *testing.T, unmet, undefined []string) string {
	t.Helper()
	for _, cmd := range []string{"make", "sh", "awk"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("no %s", cmd)
		}
	}
	dir := t.TempDir()
	frag, err := flavourFragment("minimal")
	if err != nil {
		t.Fatal(err)
	}
	var kconfig strings.Builder
	for _, o := range frag.Options {
		if !contains(undefined, o.Name) {
			kconfig.WriteString("config " + o.Name + "\n\tbool\n")
		}
	}
	writeFiles(t, dir, map[string]string{
		"Makefile": `VERSION = 6
PATCHLEVEL = 99
SUBLEVEL = 3
EXTRAVERSION = -rc1
NAME = Fake

srctree := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export srctree

tinyconfig:
	@printf 'CONFIG_CC_VERSION_TEXT="gcc (Fake) 12.2.0"\nCONFIG_EXPERT=y\n# CONFIG_PRINTK is not set\n' > $(O)/.config
	@printf 'include $(srctree)/Makefile\n' > $(O)/Makefile
	@ln -sfn $(srctree) $(O)/source

olddefconfig:
	@awk -F'[= ]' 'NR==FNR { drop["CONFIG_" $$1] = 1; next } { n = ($$1 == "#") ? $$2 : $$1 } !drop[n] { line[n] = $$0; if (!(n in seen)) { seen[n] = 1; order[++k] = n } } END { for (i = 1; i <= k; i++) print line[order[i]] }' $(srctree)/unmet $(O)/.config > $(O)/.config.new
	@mv $(O)/.config.new $(O)/.config

bzImage:
	@mkdir -p $(O)/arch/x86/boot $(O)/include/config
	@echo '  CC      kernel/fork.o'
	@cp $(srctree)/vmlinux.in $(O)/vmlinux
	@echo bzImage > $(O)/arch/x86/boot/bzImage
	@echo 'ffffffff81000000 T _text' > $(O)/System.map
	@echo '6.99.3-rc1' > $(O)/include/config/kernel.release

modules:
ifneq ($(M),)
	@for f in $(M)/*.c; do cp $$f $${f%.c}.ko; done
else
	@echo '  MODPOST Module.symvers'
	@: > $(O)/Module.symvers
	@: > $(O)/kernel.o
	@mkdir -p $(O)/scripts/mod && : > $(O)/scripts/mod/modpost.o
endif

run-command:
	cd $(O) && $(KBUILD_RUN_COMMAND)
`,
		"Kbuild":                          "",
		"Kconfig":                         kconfig.String(),
		"arch/x86/Kconfig":                "",
		"unmet":                           strings.Join(unmet, "\n") + "\n",
		"scripts/kconfig/merge_config.sh": "#!/bin/sh\n# -m -O DIR BASE FRAGMENTS...\nout=$3; base=$4; shift 4\ncat \"$base\" \"$@\" > \"$out/.merged\" && mv \"$out/.merged\" \"$out/.config\"\n",
		"scripts/package/install-extmod-build": "#!/bin/sh\nset -eu\nmkdir -p \"$1/scripts/mod\"\ncp .config Module.symvers \"$1/\"\n" +
			"printf 'modules:\\n\\tfor f in $(M)/*.c; do cp $$f $${f%%.c}.ko; done\\n' > \"$1/Makefile\"\n",
	})
	if err := os.WriteFile(filepath.Join(dir, "vmlinux.in"), vmlinuxtest.FakeELF(true), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestGetTree(t *testing.T) {
	tree := fakeTree(t, nil, nil)
	s := &Store{Dir: t.TempDir()}
	ctx := context.Background()
	spec := mustSpec(t, "src:"+tree)
	k, err := s.Get(ctx, spec, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := hostCompiler()
	frag, _ := flavourFragment("minimal")
	rev, _ := treeRevision(ctx, tree)
	key := "6.99.3-rc1@src-" + rev + "-minimal-" + frag.Hash(buildRecipe) + "-gcc" + cc
	dir := filepath.Join(s.Dir, "kernels", key)
	want := &Kernel{
		Spec: "src:" + tree + "@minimal", Source: "src", Key: key, Release: "6.99.3-rc1", Dir: dir,
		Flavour: "minimal", ConfigHash: frag.Hash(buildRecipe), Compiler: "gcc " + cc, SourceDir: tree, Revision: rev,
		BuildLog: filepath.Join(dir, "build.log"),
		Image:    filepath.Join(dir, "vmlinux"), Vmlinux: filepath.Join(dir, "vmlinux"), PVH: true,
		BzImage: filepath.Join(dir, "bzImage"), SystemMap: filepath.Join(dir, "System.map"),
		Config: filepath.Join(dir, "config"), BuildDir: filepath.Join(dir, "build"),
		CC: "gcc (Fake) 12.2.0",
	}
	if diff := cmp.Diff(want, k, cmpIgnore("CompilerMismatch", "ModuleCC", "ModuleMakeArgs", "LastUsed", "BuildSeconds")); diff != "" {
		t.Errorf("unexpected kernel (-want +got):\n%s", diff)
	}
	if k.LastUsed.IsZero() {
		t.Error("LastUsed not set")
	}
	for _, gone := range []string{"obj", "src"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("the entry kept %s/", gone)
		}
	}
	for _, kept := range []string{"fragments/minimal.config", "build/Module.symvers", "build.log"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("the entry lacks %s: %v", kept, err)
		}
	}

	// The module build, as the harness runs it.
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "cn_echo.c"), []byte("int x;\n"), 0o644)
	if out, err := k.ModuleMake(ctx, mod).CombinedOutput(); err != nil {
		t.Fatalf("ModuleMake: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(mod, "cn_echo.ko")); err != nil {
		t.Error(err)
	}

	// Unchanged, it is not built again; changed, it is.
	log := &strings.Builder{}
	if k2, err := s.Get(ctx, spec, log); err != nil || k2.Dir != dir {
		t.Fatalf("second Get = %v, %v", k2, err)
	}
	if !strings.Contains(log.String(), "using the stored") {
		t.Errorf("the second Get built again:\n%s", log)
	}
	if err := os.WriteFile(filepath.Join(tree, "init.c"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	k3, err := s.Get(ctx, spec, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if k3.Dir == dir {
		t.Error("a changed tree did not build a new kernel")
	}

	// The debug flavour is another entry.
	kd, err := s.Get(ctx, mustSpec(t, "src:"+tree+"@debug"), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if kd.Dir == k3.Dir || kd.Flavour != "debug" || kd.ConfigHash == k3.ConfigHash {
		t.Errorf("the debug flavour got %s (%s, %s)", kd.Dir, kd.Flavour, kd.ConfigHash)
	}
	if kd.Image != kd.BzImage || kd.ImageFallback != kasanPVH {
		t.Errorf("a KASAN kernel boots %s (%q), want the bzImage", kd.Image, kd.ImageFallback)
	}
	if ks, _ := s.List(); len(ks) != 3 {
		t.Errorf("List has %d kernels, want 3", len(ks))
	}
}

func TestGetTreeConfigError(t *testing.T) {
	tree := fakeTree(t, []string{"CONNECTOR", "SLUB_TINY", "FUTEX"}, []string{"FUTEX"})
	s := &Store{Dir: t.TempDir()}
	_, err := s.Get(context.Background(), mustSpec(t, "src:"+tree), testLog{t})
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("Get = %v, want a *ConfigError", err)
	}
	want := []string{
		"CONFIG_FUTEX=y (minimal.config:56): got nothing: this kernel has no such option",
		"CONFIG_CONNECTOR=y (minimal.config:69): got nothing: its dependencies are not met, or something turns it off",
	}
	if diff := cmp.Diff(want, cerr.Missed, cmp.Transformer("noLine", noLine)); diff != "" {
		t.Errorf("unexpected misses (-want +got):\n%s", diff)
	}
	// SLUB_TINY is "is not set", so dropping it is what was asked.
	if !strings.Contains(err.Error(), "the whole log: "+filepath.Join(s.Dir, "logs")) {
		t.Errorf("the error does not point at the kept log: %v", err)
	}
	if ks, _ := s.List(); len(ks) != 0 {
		t.Errorf("a failed build left %d kernels", len(ks))
	}
}

// noLine drops the line numbers of fragment positions, which move as the
// fragments are edited.
func noLine(ss []string) []string {
	var out []string
	for _, s := range ss {
		before, after, ok := strings.Cut(s, ".config:")
		if ok {
			_, after, _ = strings.Cut(after, ")")
			s = before + ".config)" + after
		}
		out = append(out, s)
	}
	return out
}

func TestTreeVersion(t *testing.T) {
	for mk, want := range map[string]string{
		"VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\nEXTRAVERSION =\n":   "6.12.118",
		"VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 0\nEXTRAVERSION = -rc7\n": "7.3.0-rc7",
		"# SPDX\nVERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL =\n":               "5.10",
	} {
		if got, err := treeVersion([]byte(mk)); err != nil || got != want {
			t.Errorf("treeVersion(%q) = %q, %v; want %q", mk, got, err, want)
		}
	}
	if _, err := treeVersion([]byte("all:\n")); err == nil {
		t.Error("treeVersion of a non-kernel Makefile succeeded")
	}
}

func TestCheckTree(t *testing.T) {
	tree := fakeTree(t, nil, nil)
	if v, err := checkTree(tree); err != nil || v != "6.99.3-rc1" {
		t.Errorf("checkTree = %q, %v", v, err)
	}
	os.WriteFile(filepath.Join(tree, ".config"), nil, 0o644)
	if _, err := checkTree(tree); err == nil || !strings.Contains(err.Error(), "make mrproper") {
		t.Errorf("checkTree of a tree configured in place = %v", err)
	}
	if _, err := checkTree(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a kernel source tree") {
		t.Errorf("checkTree of an empty directory = %v", err)
	}
}

func TestTreeRevision(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Makefile": "x\n", "a/b.c": "b\n"})
	r1, err := treeRevision(ctx, dir)
	if err != nil || !strings.HasPrefix(r1, "tree-") {
		t.Fatalf("treeRevision without git = %q, %v", r1, err)
	}
	os.WriteFile(filepath.Join(dir, "a/b.c"), []byte("changed\n"), 0o644)
	if r2, _ := treeRevision(ctx, dir); r2 == r1 {
		t.Error("a changed file kept the revision")
	}

	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	clean, err := treeRevision(ctx, dir)
	if err != nil || !strings.HasPrefix(clean, "git-") || len(clean) != len("git-")+12 {
		t.Fatalf("treeRevision of a clean checkout = %q, %v", clean, err)
	}
	os.WriteFile(filepath.Join(dir, "Makefile"), []byte("y\n"), 0o644)
	dirty, _ := treeRevision(ctx, dir)
	if !strings.HasPrefix(dirty, clean+"-dirty-") {
		t.Errorf("treeRevision with a change = %q", dirty)
	}
	os.WriteFile(filepath.Join(dir, "new.c"), []byte("n\n"), 0o644)
	if untracked, _ := treeRevision(ctx, dir); untracked == dirty {
		t.Error("a new file kept the revision")
	}
}

// TestGetTreeWithoutExtmodScript builds a tree like 6.1's, which has no
// scripts/package/install-extmod-build: the entry keeps the object tree,
// with a copy of the source its Makefile reaches by a relative path.
func TestGetTreeWithoutExtmodScript(t *testing.T) {
	tree := fakeTree(t, nil, nil)
	os.Remove(filepath.Join(tree, "scripts/package/install-extmod-build"))
	os.MkdirAll(filepath.Join(tree, ".git/objects"), 0o755)
	s := &Store{Dir: t.TempDir()}
	ctx := context.Background()
	k, err := s.Get(ctx, mustSpec(t, "src:"+tree), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if k.BuildDir != filepath.Join(k.Dir, "obj") {
		t.Errorf("BuildDir = %s, want the object tree", k.BuildDir)
	}
	mk, _ := os.ReadFile(filepath.Join(k.BuildDir, "Makefile"))
	if strings.Contains(string(mk), tree) || strings.Contains(string(mk), s.Dir) {
		t.Errorf("the object tree's Makefile names absolute paths:\n%s", mk)
	}
	if target, _ := os.Readlink(filepath.Join(k.BuildDir, "source")); target != "../src" {
		t.Errorf("source -> %q, want ../src", target)
	}
	for name, want := range map[string]bool{
		"src/Makefile": true, "src/.git": false, "obj/kernel.o": false, "obj/scripts/mod/modpost.o": true, "obj/Module.symvers": true,
	} {
		if _, err := os.Stat(filepath.Join(k.Dir, name)); (err == nil) != want {
			t.Errorf("%s: exists = %v, want %v", name, err == nil, want)
		}
	}
	// The entry still builds modules once moved, as a restored CI cache is.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(k.Dir, moved); err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "m.c"), nil, 0o644)
	out, err := exec.Command("make", "-C", filepath.Join(moved, "obj"), "M="+mod, "modules").CombinedOutput()
	if err != nil {
		t.Fatalf("make in the moved entry: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(mod, "m.ko")); err != nil {
		t.Error(err)
	}
}

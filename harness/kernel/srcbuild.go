// SPDX-License-Identifier: MIT

package kernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/kconfig"
	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/vmlinux"
)

// srcBuild configures and builds one kernel from a source tree into an
// entry, root, and lays the entry out:
//
//	root/vmlinux          the image QEMU boots (PVH)
//	root/bzImage, root/System.map, root/config
//	root/build/           the kbuild tree for out-of-tree modules
//	root/fragments/       the config fragments merged
//	root/build.log        every command and its output
//
// The kbuild tree is what the kernel's scripts/package/install-extmod-build
// makes of the object tree (the same as its headers packages hold), so the
// source and objects are dropped. Kernels older than that script (6.1 has
// none) keep the object tree and a copy of the source instead, with the
// object tree's paths to the source made relative.
type srcBuild struct {
	src  string // the source tree; inside root if it is to be kept
	frag *kconfig.Fragment
	root string
	p    *progress
	log  *buildLog
	// gcov holds the make variables of a kernel with CONFIG_GCOV_KERNEL
	// (gcovMakeArgs), set once it is configured.
	gcov []string
}

// jobs is how many jobs make runs: CNVMTEST_BUILD_JOBS, else one per CPU.
func jobs() int {
	if n, err := strconv.Atoi(os.Getenv("CNVMTEST_BUILD_JOBS")); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

func (b *srcBuild) obj() string { return filepath.Join(b.root, "obj") }

// run builds; k is filled in from the result.
func (b *srcBuild) run(ctx context.Context, k *Kernel) error {
	if err := b.configure(ctx, k); err != nil {
		return err
	}
	if err := b.compile(ctx, k); err != nil {
		return err
	}
	if b.gcov != nil {
		if err := b.keepGcov(k); err != nil {
			return err
		}
	}
	if err := b.collect(k); err != nil {
		return err
	}
	if err := b.kbuildTree(ctx, k); err != nil {
		return fmt.Errorf("making the kbuild tree: %w", err)
	}
	return b.tryModule(ctx, k)
}

// configure makes the .config: tinyconfig, the fragments, olddefconfig,
// and a check that every option took.
func (b *srcBuild) configure(ctx context.Context, k *Kernel) error {
	obj := b.obj()
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return err
	}
	start := time.Now()
	b.p.printf("configuring (%s flavour, make tinyconfig and %s)", b.frag.Flavour, strings.Join(b.frag.Files, " "))
	frags, err := b.frag.Write(filepath.Join(b.root, "fragments"))
	if err != nil {
		return err
	}
	if err := b.make(ctx, "tinyconfig"); err != nil {
		return err
	}
	merge := append([]string{"-m", "-O", obj, filepath.Join(obj, ".config")}, frags...)
	// merge_config.sh writes its temporary files to the working directory.
	if err := b.log.run(ctx, obj, filepath.Join(b.src, "scripts/kconfig/merge_config.sh"), merge...); err != nil {
		return fmt.Errorf("merging the config fragments: %w", err)
	}
	if err := b.make(ctx, "olddefconfig"); err != nil {
		return err
	}
	if err := b.checkConfig(k); err != nil {
		return err
	}
	if config, err := os.ReadFile(filepath.Join(obj, ".config")); err != nil {
		return err
	} else if hasGcov(config) {
		if b.gcov, err = gcovMakeArgs(b.src, obj); err != nil {
			return err
		}
	}
	b.p.printf("configured in %s; building with %d jobs", since(start), jobs())
	return nil
}

// compile builds the images and Module.symvers, saying every 10 s where
// it is.
func (b *srcBuild) compile(ctx context.Context, k *Kernel) error {
	start := time.Now()
	stop := b.p.every(progressInterval, func() string {
		n, last := b.log.status()
		last = strings.ReplaceAll(last, b.root+"/", "")
		return fmt.Sprintf("building for %s: %d steps, last %s", since(start).Round(time.Second), n, last)
	})
	// "modules" runs modpost, which writes the Module.symvers that
	// out-of-tree builds need, even with no modules configured.
	err := b.make(ctx, "-j"+strconv.Itoa(jobs()), "bzImage", "modules")
	stop()
	if err != nil {
		return err
	}
	n, _ := b.log.status()
	b.p.printf("built in %s (%d steps)", since(start), n)
	k.BuildSeconds = time.Since(start).Seconds()

	obj := b.obj()
	rel, err := os.ReadFile(filepath.Join(obj, "include/config/kernel.release"))
	if err != nil {
		return fmt.Errorf("reading the release: %w", err)
	}
	k.Release = strings.TrimSpace(string(rel))
	if _, err := os.Stat(filepath.Join(obj, "Module.symvers")); err != nil {
		return fmt.Errorf("make modules wrote no Module.symvers: %w", err)
	}
	return nil
}

// make runs make in the source tree with the object tree as O=.
func (b *srcBuild) make(ctx context.Context, args ...string) error {
	var targets []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			targets = append(targets, a)
		}
	}
	args = append(append([]string{"-C", b.src, "O=" + b.obj()}, args...), b.gcov...)
	if err := b.log.run(ctx, b.root, "make", args...); err != nil {
		return fmt.Errorf("make %s: %w", strings.Join(targets, " "), err)
	}
	return nil
}

// checkConfig verifies the fragment took and records the config in k.
func (b *srcBuild) checkConfig(k *Kernel) error {
	config, err := os.ReadFile(filepath.Join(b.obj(), ".config"))
	if err != nil {
		return err
	}
	var syms map[string]bool
	exists := func(name string) bool {
		if syms == nil {
			syms, _ = kconfig.Symbols(b.src)
		}
		return syms == nil || syms[name]
	}
	warnings, err := b.frag.Check(config, exists)
	for _, w := range warnings {
		b.p.printf("warning: %s", w)
		b.log.printf("warning: %s", w)
	}
	k.ConfigWarnings = warnings
	k.CC = ccVersionText(config)
	return err
}

// collect moves the images, System.map and .config to the top of the entry.
func (b *srcBuild) collect(k *Kernel) error {
	obj := b.obj()
	for _, m := range []struct {
		from string
		to   *string
	}{
		{"vmlinux", &k.Vmlinux},
		{"arch/x86/boot/bzImage", &k.BzImage},
		{"System.map", &k.SystemMap},
	} {
		dst := filepath.Join(b.root, filepath.Base(m.from))
		if err := os.Rename(filepath.Join(obj, m.from), dst); err != nil {
			return fmt.Errorf("collecting the build: %w", err)
		}
		*m.to = dst
	}
	k.Config = filepath.Join(b.root, "config")
	if err := copyFile(filepath.Join(obj, ".config"), k.Config); err != nil {
		return err
	}
	config, err := os.ReadFile(k.Config)
	if err != nil {
		return err
	}
	elf, err := os.ReadFile(k.Vmlinux)
	if err != nil {
		return err
	}
	k.PVH, err = vmlinux.HasPVHEntry(elf)
	switch {
	case err != nil:
		k.Image, k.ImageFallback = k.BzImage, "reading the vmlinux notes: "+err.Error()
	case !k.PVH:
		k.Image, k.ImageFallback = k.BzImage, "the vmlinux has no PVH entry note (CONFIG_PVH is off), so QEMU cannot boot it directly"
	case kconfig.ReadConfig(config)["KASAN"] == "y":
		k.Image, k.ImageFallback = k.BzImage, kasanPVH
	default:
		k.Image = k.Vmlinux
	}
	return nil
}

// kasanPVH is why KASAN kernels boot from their bzImage: entered through
// PVH, 6.12's early code calls the instrumented memcmp before the KASAN
// shadow is mapped, and the page fault on the shadow triple-faults (QEMU
// 7.2, TCG, generic inline KASAN). The decompressor's path maps it in time.
const kasanPVH = "KASAN kernels fault in PVH direct boot (instrumented memcmp before the shadow exists); booting the bzImage"

// kbuildTree makes root/build with the kernel's install-extmod-build, or
// keeps the object tree where the kernel has no such script.
func (b *srcBuild) kbuildTree(ctx context.Context, k *Kernel) error {
	script := filepath.Join(b.src, "scripts/package/install-extmod-build")
	if _, err := os.Stat(script); err != nil {
		return b.keepTrees(ctx, k)
	}
	dest := filepath.Join(b.root, "build")
	mk, err := os.ReadFile(filepath.Join(b.src, "Makefile"))
	if err != nil {
		return err
	}
	if bytes.Contains(mk, []byte("\nrun-command:")) {
		// make exports what the script reads (srctree, SRCARCH, CC…).
		err = b.make(ctx, "run-command", "KBUILD_RUN_COMMAND="+script+" "+dest)
	} else {
		err = b.log.runEnv(ctx, b.obj(), []string{"srctree=" + b.src, "SRCARCH=x86", "KCONFIG_CONFIG=.config",
			"CC=gcc", "HOSTCC=gcc", "MAKE=make"}, script, dest)
	}
	if err != nil {
		return err
	}
	// Debian's headers have it, and module Makefiles grep it.
	if err := copyFile(filepath.Join(b.obj(), ".config"), filepath.Join(dest, ".config")); err != nil {
		return err
	}
	k.BuildDir = dest
	if err := os.RemoveAll(b.obj()); err != nil {
		return err
	}
	if rel, err := filepath.Rel(b.root, b.src); err == nil && filepath.IsLocal(rel) {
		return os.RemoveAll(b.src)
	}
	return nil
}

// keepTrees keeps the object tree as the kbuild tree, with the source
// copied into root/src if it is not there yet. Objects outside scripts/
// and tools/, which hold the host programs module builds run, go.
func (b *srcBuild) keepTrees(ctx context.Context, k *Kernel) error {
	src := filepath.Join(b.root, "src")
	if b.src != src {
		b.p.printf("copying the source tree (this kernel has no scripts/package/install-extmod-build)")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		copyTree := fmt.Sprintf("tar -C %q --exclude=.git -cf - . | tar -C %q -xf -", b.src, src)
		if err := b.log.run(ctx, b.root, "sh", "-c", copyTree); err != nil {
			return err
		}
	}
	obj := b.obj()
	if err := relativeObjTree(obj, b.src, src); err != nil {
		return err
	}
	err := filepath.WalkDir(obj, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(obj, p)
		if d.IsDir() && (rel == "scripts" || rel == "tools") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".o") || strings.HasSuffix(p, ".a")) {
			return os.Remove(p)
		}
		return nil
	})
	k.BuildDir = obj
	return err
}

// relativeObjTree points an object tree's Makefile and source symlink at
// src, the copy of the source in the entry, by relative paths; oldSrc is
// where the tree was built from.
func relativeObjTree(obj, oldSrc, src string) error {
	mk := filepath.Join(obj, "Makefile")
	b, err := os.ReadFile(mk)
	if err != nil {
		return err
	}
	up, err := filepath.Rel(obj, src)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), oldSrc, "$("+rootVar+")")
	text = fmt.Sprintf("# cnvmtest moved this tree: the source is %s from here.\n%s := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))%s)\n%s",
		up, rootVar, up, text)
	if err := os.WriteFile(mk, []byte(text), 0o644); err != nil {
		return err
	}
	link := filepath.Join(obj, "source")
	os.Remove(link)
	return os.Symlink(up, link)
}

// helloModule is built against every kernel built here before it is
// stored: a kbuild tree that cannot build modules is no use.
const helloModule = `#include <linux/module.h>

static int __init hello_init(void)
{
	return 0;
}

module_init(hello_init);
MODULE_LICENSE("GPL");
`

func (b *srcBuild) tryModule(ctx context.Context, k *Kernel) error {
	dir, err := os.MkdirTemp(b.root, "hello.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "Kbuild"), []byte("obj-m += hello.o\n"), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "hello.c"), []byte(helloModule), 0o644); err != nil {
		return err
	}
	if err := b.log.run(ctx, b.root, "make", "-C", k.BuildDir, "M="+dir, "modules"); err != nil {
		return fmt.Errorf("building a test module against the new kbuild tree: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hello.ko")); err != nil {
		return fmt.Errorf("building a test module against the new kbuild tree: %w", err)
	}
	return nil
}

// copyFile copies a file, making the directory to is in.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// progressInterval is how often long steps say where they are.
const progressInterval = 10 * time.Second

// buildLog is a build's log file. It remembers the last kbuild step
// ("CC      kernel/fork.o") for progress lines.
type buildLog struct {
	name string

	mu      sync.Mutex
	f       *os.File
	steps   int
	last    string
	lastOut string
}

func newBuildLog(name string) (*buildLog, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return &buildLog{name: name, f: f}, nil
}

func (l *buildLog) close() error { return l.f.Close() }

// stepRE matches kbuild's short output: two spaces, a verb, the target.
var stepRE = regexp.MustCompile(`^  ([A-Z][A-Z0-9_-]*)\s+(\S.*)$`)

func (l *buildLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(string(p), "\n") {
		if m := stepRE.FindStringSubmatch(line); m != nil {
			l.steps++
			l.last = m[1] + " " + m[2]
		}
		if strings.TrimSpace(line) != "" {
			l.lastOut = strings.TrimSpace(line)
		}
	}
	return l.f.Write(p)
}

func (l *buildLog) status() (steps int, last string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == "" {
		return l.steps, "(nothing yet)"
	}
	return l.steps, l.last
}

// lastLine is the last line written, for progress lines.
func (l *buildLog) lastLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOut
}

func (l *buildLog) printf(format string, args ...any) {
	fmt.Fprintf(l, format+"\n", args...)
}

func (l *buildLog) run(ctx context.Context, dir, name string, args ...string) error {
	return l.runEnv(ctx, dir, nil, name, args...)
}

// runEnv runs a command with its output in the log. Its error carries the
// end of the log.
func (l *buildLog) runEnv(ctx context.Context, dir string, env []string, name string, args ...string) error {
	l.printf("$ %s %s", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(buildEnv(), env...)
	cmd.Stdout, cmd.Stderr = l, l
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	l.printf("# %s in %s: %v", filepath.Base(name), since(start), orOK(err))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w%s", filepath.Base(name), err, l.tail(20))
	}
	return nil
}

func orOK(err error) any {
	if err == nil {
		return "ok"
	}
	return err
}

// tail returns the last n lines of the log, indented on new lines.
func (l *buildLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := os.ReadFile(l.name)
	if err != nil {
		return ""
	}
	return tail(string(b), n)
}

// buildEnv is the environment kernel builds run in: the user's, without
// what would change the build behind the store's back (ARCH, O, a
// LOCALVERSION, an outer make's flags and jobserver).
func buildEnv() []string {
	drop := map[string]bool{"ARCH": true, "CROSS_COMPILE": true, "O": true, "KBUILD_OUTPUT": true, "KBUILD_EXTMOD": true,
		"M": true, "LOCALVERSION": true, "KCONFIG_CONFIG": true, "MAKEFLAGS": true, "MAKELEVEL": true, "MFLAGS": true,
		"CC": true, "LLVM": true}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C", "KBUILD_BUILD_USER=cnvmtest", "KBUILD_BUILD_HOST=cnvmtest")
}

// treeVersion reads the kernel version ("6.12.118", "7.3.0-rc7") from a
// source tree's top Makefile, as "make kernelversion" prints it.
func treeVersion(makefile []byte) (string, error) {
	vars := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(makefile))
	for n := 0; s.Scan() && n < 50; n++ {
		k, v, ok := strings.Cut(s.Text(), "=")
		if !ok {
			continue
		}
		switch k = strings.TrimSpace(k); k {
		case "VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION":
			vars[k] = strings.TrimSpace(v)
		}
	}
	if vars["VERSION"] == "" || vars["PATCHLEVEL"] == "" {
		return "", errors.New("no VERSION and PATCHLEVEL in the top Makefile: not a kernel source tree")
	}
	v := vars["VERSION"] + "." + vars["PATCHLEVEL"]
	if vars["SUBLEVEL"] != "" {
		v += "." + vars["SUBLEVEL"]
	}
	return v + vars["EXTRAVERSION"], nil
}

// checkTree checks dir looks like a kernel source tree that can be built
// out of tree, and returns its version.
func checkTree(dir string) (string, error) {
	mk, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("not a kernel source tree: %w", err)
	}
	for _, need := range []string{"Kbuild", "scripts/kconfig/merge_config.sh", "arch/x86"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			return "", fmt.Errorf("not an x86 kernel source tree: %w", err)
		}
	}
	// make refuses O= builds of a tree configured in place.
	if _, err := os.Stat(filepath.Join(dir, ".config")); err == nil {
		return "", fmt.Errorf("%s has a .config: the tree was configured in place, and make refuses to build it "+
			"out of tree; run make mrproper in it (this deletes that .config and the objects)", dir)
	}
	return treeVersion(mk)
}

// hostCompiler is gcc -dumpfullversion, "12.2.0": kernels built here are
// stored by the compiler that built them.
var hostCompiler = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("gcc", "-dumpfullversion").Output()
	if err != nil {
		return "", fmt.Errorf("gcc -dumpfullversion: %w (kernels built from source need gcc, make, flex, bison, bc and libelf-dev)", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// sourceKey names the entry of a kernel built here: the kernel version,
// where the source came from, the flavour and config hash, and the
// compiler.
func sourceKey(version, origin, flavour, configHash, compiler string) string {
	return fmt.Sprintf("%s@%s-%s-%s-gcc%s", version, origin, flavour, configHash, compiler)
}

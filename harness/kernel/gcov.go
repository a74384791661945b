// SPDX-License-Identifier: MIT

package kernel

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cnvmtest/cnvmtest/harness/kernel/internal/kconfig"
)

// Kernels built here with CONFIG_GCOV_KERNEL (the coverage flavour,
// configs/coverage.config) profile the objects of gcovDirs and nothing
// else: CONFIG_GCOV_PROFILE_ALL stays off, and the build turns on
// GCOV_PROFILE_<object> for each object of these directories
// (scripts/Makefile.lib reads GCOV_PROFILE_$(target-stem).o). The kernel
// writes their counters to /sys/kernel/debug/gcov/, at the object tree's
// path (kernel/gcov/fs.c).
var gcovDirs = []string{"drivers/connector"}

// gcovSubdir is where an entry keeps what gcov needs to read the counters
// of a profiled kernel once the object tree and the source are gone:
//
//	gcov/obj/drivers/connector/*.gcno   the notes, at their object-tree paths
//	gcov/src/drivers/connector/*.[ch]   the sources
//
// The notes name the sources src/drivers/connector/connector.c, relative
// to gcov/ (-fprofile-prefix-map, see gcovMakeArgs), so the entry can move.
const gcovSubdir = "gcov"

// GcovProfileArg is what the module build adds to make's command line
// for a kernel with CONFIG_GCOV_KERNEL: the module under test is profiled
// too (Documentation/dev-tools/gcov.rst, "GCOV_PROFILE := y" in a Kbuild
// file; a command-line variable reaches every Makefile of the module).
const GcovProfileArg = "GCOV_PROFILE=y"

// hasGcov reports whether a .config turns gcov on.
func hasGcov(config []byte) bool { return kconfig.ReadConfig(config)["GCOV_KERNEL"] == "y" }

// NoGcov says why a kernel of spec cannot have CONFIG_GCOV_KERNEL, before
// it is got: Debian's kernels are built without it, and a flavour whose
// fragment does not set it builds kernels without it. "" means it may
// (a coverage flavour, or a path: kernel, whose .config says).
func NoGcov(spec Spec) string {
	spec = spec.withDefaults()
	switch {
	case spec.Source == SourceDebian:
		return "Debian's kernels are built without CONFIG_GCOV_KERNEL"
	case !spec.built():
		return ""
	}
	frag, err := flavourFragment(spec.Flavour)
	if err != nil {
		return ""
	}
	for _, o := range frag.Options {
		if o.Name == "GCOV_KERNEL" && o.Value == "y" {
			return ""
		}
	}
	return fmt.Sprintf("the %s flavour builds kernels without CONFIG_GCOV_KERNEL", spec.Flavour)
}

// HasGcov reports whether k was built with CONFIG_GCOV_KERNEL.
func (k *Kernel) HasGcov() bool {
	b, err := os.ReadFile(k.Config)
	return err == nil && hasGcov(b)
}

// prefixMapFlag is how gcc is told to record the sources under old in a
// .gcno as if they were under new: "-fprofile-prefix-map" (GCC 12 and
// newer).
func prefixMapFlag(old, new string) string {
	return "-fprofile-prefix-map=" + old + "/=" + new
}

// checkPrefixMap fails when the host's gcc lacks -fprofile-prefix-map.
func checkPrefixMap() error {
	out, err := exec.Command("gcc", prefixMapFlag("/a", "b/"), "-x", "c", "-fsyntax-only", "/dev/null").CombinedOutput()
	if err != nil {
		return fmt.Errorf("gcc does not take -fprofile-prefix-map (it needs GCC 12 or newer): %s; "+
			"the coverage flavour needs it to record where the profiled sources are: build with a newer gcc", strings.TrimSpace(string(out)))
	}
	return nil
}

// gcovMakeArgs are the make variables of the build of a gcov kernel from
// the tree src into the object tree obj: GCOV_PROFILE_<stem>.o=y for each
// C file of gcovDirs, and the prefix maps that make the .gcno files name
// their sources src/… and obj/….
func gcovMakeArgs(src, obj string) ([]string, error) {
	if err := checkPrefixMap(); err != nil {
		return nil, err
	}
	var args []string
	for _, d := range gcovDirs {
		cs, err := filepath.Glob(filepath.Join(src, d, "*.c"))
		if err != nil || len(cs) == 0 {
			return nil, fmt.Errorf("the tree has no C files in %s to profile", d)
		}
		for _, c := range cs {
			args = append(args, "GCOV_PROFILE_"+strings.TrimSuffix(filepath.Base(c), ".c")+".o=y")
		}
	}
	args = append(args, "KCFLAGS="+prefixMapFlag(src, "src/")+" "+prefixMapFlag(obj, "obj/"))
	return args, nil
}

// keepGcov copies the .gcno files of the object tree and the sources of
// the profiled directories to root/gcov, and fails if anything outside
// gcovDirs was profiled (another object of the same name as a
// connector's) or nothing was.
func (b *srcBuild) keepGcov(k *Kernel) error {
	obj := b.obj()
	dest := filepath.Join(b.root, gcovSubdir)
	var notes, stray []string
	err := filepath.WalkDir(obj, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gcno") {
			return err
		}
		rel, _ := filepath.Rel(obj, p)
		if !slices.Contains(gcovDirs, filepath.Dir(rel)) {
			stray = append(stray, rel)
			return nil
		}
		notes = append(notes, rel)
		return copyFile(p, filepath.Join(dest, "obj", rel))
	})
	switch {
	case err != nil:
		return fmt.Errorf("keeping the gcov notes: %w", err)
	case len(stray) > 0:
		return fmt.Errorf("objects outside %s were profiled: %s", strings.Join(gcovDirs, ", "), strings.Join(stray, ", "))
	case len(notes) == 0:
		return fmt.Errorf("CONFIG_GCOV_KERNEL is on but the build wrote no .gcno under %s", strings.Join(gcovDirs, ", "))
	}
	for _, d := range gcovDirs {
		files, _ := filepath.Glob(filepath.Join(b.src, d, "*.[ch]"))
		for _, f := range files {
			if err := copyFile(f, filepath.Join(dest, "src", d, filepath.Base(f))); err != nil {
				return fmt.Errorf("keeping the profiled sources: %w", err)
			}
		}
	}
	b.p.printf("kept the gcov notes of %s", strings.Join(notes, ", "))
	k.Gcov = dest
	return nil
}

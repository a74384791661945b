// SPDX-License-Identifier: MIT

package kernel

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gcovTree makes a source tree with the connector's files, and an object
// tree holding notes.
func gcovTree(t *testing.T, notes ...string) *srcBuild {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	for _, f := range []string{"drivers/connector/connector.c", "drivers/connector/cn_queue.c", "drivers/connector/cn_proc.c",
		"drivers/connector/Makefile", "kernel/fork.c"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(src, f), []byte(f), 0o644)
	}
	b := &srcBuild{src: src, root: root, p: newProgress(nil, Spec{Source: SourceTree})}
	os.MkdirAll(b.obj(), 0o755)
	for _, n := range notes {
		p := filepath.Join(b.obj(), n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("notes of "+n), 0o644)
	}
	return b
}

func TestGcovMakeArgs(t *testing.T) {
	b := gcovTree(t)
	args, err := gcovMakeArgs(b.src, b.obj())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GCOV_PROFILE_cn_proc.o=y", "GCOV_PROFILE_cn_queue.o=y", "GCOV_PROFILE_connector.o=y",
		"KCFLAGS=-fprofile-prefix-map=" + b.src + "/=src/ -fprofile-prefix-map=" + b.obj() + "/=obj/"}
	if !slices.Equal(args, want) {
		t.Errorf("gcovMakeArgs = %q, want %q", args, want)
	}
	if _, err := gcovMakeArgs(t.TempDir(), b.obj()); err == nil || !strings.Contains(err.Error(), "no C files in drivers/connector") {
		t.Errorf("a tree without the connector: %v", err)
	}
}

func TestKeepGcov(t *testing.T) {
	b := gcovTree(t, "drivers/connector/connector.gcno", "drivers/connector/cn_proc.gcno")
	k := &Kernel{}
	if err := b.keepGcov(k); err != nil {
		t.Fatal(err)
	}
	if k.Gcov != filepath.Join(b.root, "gcov") {
		t.Errorf("Gcov = %s", k.Gcov)
	}
	for _, f := range []string{"obj/drivers/connector/connector.gcno", "obj/drivers/connector/cn_proc.gcno",
		"src/drivers/connector/connector.c", "src/drivers/connector/cn_queue.c"} {
		if _, err := os.Stat(filepath.Join(k.Gcov, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(k.Gcov, "src/kernel/fork.c")); err == nil {
		t.Error("kept a source outside the profiled directories")
	}

	stray := gcovTree(t, "drivers/connector/connector.gcno", "kernel/fork.gcno")
	if err := stray.keepGcov(&Kernel{}); err == nil || !strings.Contains(err.Error(), "outside drivers/connector were profiled: kernel/fork.gcno") {
		t.Errorf("a profiled object elsewhere: %v", err)
	}
	if err := gcovTree(t).keepGcov(&Kernel{}); err == nil || !strings.Contains(err.Error(), "wrote no .gcno") {
		t.Errorf("no notes: %v", err)
	}
}

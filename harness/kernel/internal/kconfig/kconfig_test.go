// SPDX-License-Identifier: MIT

package kconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestParseFragment(t *testing.T) {
	includes, opts, err := parseFragment("x.config", []byte(`#include base.config
# A comment.
CONFIG_A=y
# CONFIG_B is not set
# optional: not in old kernels
# (a comment in between is fine)
CONFIG_C=16000
CONFIG_D="a string"
`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base.config"}, includes); diff != "" {
		t.Errorf("unexpected includes (-want +got):\n%s", diff)
	}
	want := []Option{
		{Name: "A", Value: "y", From: "x.config:3"},
		{Name: "B", Value: "n", From: "x.config:4"},
		{Name: "C", Value: "16000", Optional: true, From: "x.config:7"},
		{Name: "D", Value: `"a string"`, From: "x.config:8"},
	}
	if diff := cmp.Diff(want, opts); diff != "" {
		t.Errorf("unexpected options (-want +got):\n%s", diff)
	}

	for name, bad := range map[string]string{
		"no value":          "CONFIG_A=\n",
		"not an option":     "CONFIG_A y\n",
		"optional, nothing": "# optional: why\n\nCONFIG_A=y\n",
	} {
		if _, _, err := parseFragment("bad.config", []byte(bad)); err == nil {
			t.Errorf("%s: parseFragment(%q) succeeded", name, bad)
		}
	}
}

func TestLoadFragment(t *testing.T) {
	fsys := fstest.MapFS{
		"base.config":  {Data: []byte("CONFIG_A=y\nCONFIG_B=y\n")},
		"mid.config":   {Data: []byte("#include base.config\nCONFIG_B=m\n")},
		"top.config":   {Data: []byte("#include mid.config\n#include base.config\nCONFIG_C=y\n")},
		"loop1.config": {Data: []byte("#include loop2.config\n")},
		"loop2.config": {Data: []byte("#include loop1.config\n")},
	}
	f, err := Load(fsys, "top")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base.config", "mid.config", "top.config"}, f.Files); diff != "" {
		t.Errorf("unexpected merge order (-want +got):\n%s", diff)
	}
	var got []string
	for _, o := range f.Options {
		got = append(got, o.String())
	}
	// A later fragment overrides an earlier one, as merge_config.sh does.
	if diff := cmp.Diff([]string{"CONFIG_A=y", "CONFIG_B=m", "CONFIG_C=y"}, got); diff != "" {
		t.Errorf("unexpected options (-want +got):\n%s", diff)
	}
	if _, err := Load(fsys, "loop1"); err == nil || !strings.Contains(err.Error(), "loop1.config -> loop2.config -> loop1.config") {
		t.Errorf("an include loop gave %v", err)
	}
	if _, err := Load(fsys, "none"); err == nil {
		t.Error("a missing fragment loaded")
	}

	// The hash follows the text.
	h := f.Hash("recipe")
	fsys["base.config"] = &fstest.MapFile{Data: []byte("CONFIG_A=y\nCONFIG_B=n\n")}
	f2, _ := Load(fsys, "top")
	if h == f2.Hash("recipe") || len(h) != 12 {
		t.Errorf("hashes %q and %q of different fragments", h, f2.Hash("recipe"))
	}
}

func TestCheckConfig(t *testing.T) {
	f := &Fragment{Flavour: "test", Options: []Option{
		{Name: "A", Value: "y", From: "t:1"},
		{Name: "B", Value: "n", From: "t:2"},
		{Name: "C", Value: "n", From: "t:3"},
		{Name: "D", Value: "30", From: "t:4"},
		{Name: "GONE", Value: "y", From: "t:5"},
		{Name: "UNMET", Value: "y", From: "t:6"},
		{Name: "MAYBE", Value: "y", Optional: true, From: "t:7"},
		{Name: "WRONG", Value: "y", From: "t:8"},
	}}
	config := []byte(`#
# Automatically generated file; DO NOT EDIT.
CONFIG_A=y
# CONFIG_B is not set
CONFIG_D=30
CONFIG_WRONG=m
`)
	exists := func(name string) bool { return name != "GONE" }
	warnings, err := f.Check(config, exists)
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("checkConfig = %v, want a *ConfigError", err)
	}
	want := []string{
		"CONFIG_GONE=y (t:5): got nothing: this kernel has no such option",
		"CONFIG_UNMET=y (t:6): got nothing: its dependencies are not met, or something turns it off",
		"CONFIG_WRONG=y (t:8): got m: its dependencies are not met, or something turns it off",
	}
	if diff := cmp.Diff(want, cerr.Missed); diff != "" {
		t.Errorf("unexpected misses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"optional CONFIG_MAYBE=y (t:7): got nothing: its dependencies are not met, or something turns it off"}, warnings); diff != "" {
		t.Errorf("unexpected warnings (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "the test config did not take") || !strings.Contains(err.Error(), "CONFIG_GONE=y") {
		t.Errorf("error does not name the options: %v", err)
	}

	// All there: no error.
	ok := []byte("CONFIG_A=y\nCONFIG_D=30\nCONFIG_GONE=y\nCONFIG_UNMET=y\nCONFIG_WRONG=y\n")
	if w, err := f.Check(ok, nil); err != nil || len(w) != 1 {
		t.Errorf("checkConfig of a good config = %v, %v", w, err)
	}
}

func TestKconfigSymbols(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Kconfig":                  "source \"init/Kconfig\"\nconfig TOP\n\tbool\n",
		"init/Kconfig":             "menuconfig NAMESPACES\n\tbool \"ns\"\nif NAMESPACES\nconfig USER_NS\n\tbool\nendif\n",
		"arch/x86/Kconfig.debug":   "config X86_DEBUG\n\tbool\n",
		"Documentation/Kconfig":    "config DOCS_ONLY\n",
		"drivers/foo/notkconfig.c": "config NOT_ME\n",
	})
	syms, err := Symbols(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"TOP": true, "NAMESPACES": true, "USER_NS": true, "X86_DEBUG": true}
	if diff := cmp.Diff(want, syms); diff != "" {
		t.Errorf("unexpected symbols (-want +got):\n%s", diff)
	}
}

// writeFiles creates files under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

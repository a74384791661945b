// SPDX-License-Identifier: MIT

package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlavours(t *testing.T) {
	if diff := cmp.Diff([]string{"coverage", "debug", "minimal"}, Flavours()); diff != "" {
		t.Errorf("unexpected flavours (-want +got):\n%s", diff)
	}
	for _, fl := range Flavours() {
		f, err := flavourFragment(fl)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Options) < 40 {
			t.Errorf("%s asks for only %d options", fl, len(f.Options))
		}
	}
	debug, _ := flavourFragment("debug")
	if diff := cmp.Diff([]string{"minimal.config", "debug.config"}, debug.Files); diff != "" {
		t.Errorf("the debug flavour does not build on the minimal one (-want +got):\n%s", diff)
	}
}

// writeFiles creates files under dir; names ending in "/" are directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") || strings.Contains(name, "scripts/package/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
}

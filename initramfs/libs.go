// SPDX-License-Identifier: MIT

package initramfs

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// libDirs are where a dynamically linked program's libraries are looked
// for, in the order of the loader's default path on Debian and Ubuntu
// (multiarch directories first).
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// SharedLibraries returns what the guest needs to run the host program
// prog: nothing for a static program; for a dynamically linked one its
// ELF interpreter and the libraries it needs (DT_NEEDED, recursively),
// each at the path where the loader looks for it, with the content of the
// file a symbolic link there points at.
func SharedLibraries(prog string) ([]File, error) {
	f, err := elf.Open(prog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("reading its ELF interpreter: %w", err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return nil, nil
	}
	files := []File{{Name: strings.TrimPrefix(interp, "/"), Source: interp}}
	seen := map[string]bool{}
	var add func(f *elf.File) error
	add = func(f *elf.File) error {
		needed, err := f.ImportedLibraries()
		if err != nil {
			return err
		}
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			path := findLib(lib)
			if path == "" {
				return fmt.Errorf("library %s not found in %s", lib, strings.Join(libDirs, ", "))
			}
			files = append(files, File{Name: strings.TrimPrefix(path, "/"), Source: path})
			lf, err := elf.Open(path)
			if err != nil {
				return err
			}
			err = add(lf)
			lf.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(f); err != nil {
		return nil, err
	}
	return files, nil
}

func findLib(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	for _, d := range libDirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		} else if !errors.Is(err, os.ErrNotExist) {
			return ""
		}
	}
	return ""
}

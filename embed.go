// SPDX-License-Identifier: MIT

// Package cnvmtest carries what the cnvmtest binary needs at run time
// besides its code: the sources of cn_echo, the connector module the guest
// suite tests (kmod/), so that an installed binary builds it for any
// kernel without a source tree. The harness itself is package harness and
// the CLI cmd/cnvmtest; the Go client of the connector is package
// connector.
package cnvmtest

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// kmodFiles holds kmod/ as it is in the tree. (A Go file cannot live in
// kmod/ itself: the go command would take its C files for cgo sources.)
//
//go:embed kmod/Kbuild kmod/Makefile kmod/*.c kmod/*.h
var kmodFiles embed.FS

// Kmod returns the cn_echo module's sources: the files of kmod/.
func Kmod() fs.FS {
	sub, err := fs.Sub(kmodFiles, "kmod")
	if err != nil {
		panic(err) // the pattern above guarantees the directory
	}
	return sub
}

// KmodHash identifies the content of Kmod.
func KmodHash() string {
	h := sha256.New()
	fs.WalkDir(kmodFiles, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := kmodFiles.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p + "\x00"))
		h.Write(b)
		h.Write([]byte{0})
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

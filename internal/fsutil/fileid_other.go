// SPDX-License-Identifier: MIT

//go:build !linux

package fsutil

// FileID is only known on Linux; elsewhere nothing is cached by it.
func FileID(name string) (string, bool) { return "", false }

// LinkedFileID is only known on Linux too.
func LinkedFileID(name string) (string, bool) { return "", false }

// SPDX-License-Identifier: MIT

//go:build !linux

package kernel

// fileID is only known on Linux; elsewhere nothing is cached by it.
func fileID(name string) (string, bool) { return "", false }

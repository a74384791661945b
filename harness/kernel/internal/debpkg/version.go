// SPDX-License-Identifier: MIT

// Package debpkg reads what Debian's tools print about packages (deb822
// paragraphs, apt-cache madison lines, Depends fields) and orders Debian
// version strings as dpkg does.
package debpkg

import (
	"cmp"
	"strings"
)

// Compare orders Debian package versions as dpkg does (Debian Policy
// 5.6.12): epoch numerically, then upstream version and revision, each
// compared as alternating runs of non-digits and digits, where '~' sorts
// before everything, even the end of the string, and letters sort before
// other characters. It returns -1, 0 or +1.
func Compare(a, b string) int {
	ae, au, ar := SplitVersion(a)
	be, bu, br := SplitVersion(b)
	if c := compareDigits(ae, be); c != 0 {
		return c
	}
	if c := compareFragment(au, bu); c != 0 {
		return c
	}
	return compareFragment(ar, br)
}

// SplitVersion splits [epoch:]upstream[-revision].
func SplitVersion(v string) (epoch, upstream, revision string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, v = e, rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func compareFragment(a, b string) int {
	for a != "" || b != "" {
		var an, bn string
		an, a = cutNonDigits(a)
		bn, b = cutNonDigits(b)
		if c := compareNonDigits(an, bn); c != 0 {
			return c
		}
		an, a = cutDigits(a)
		bn, b = cutDigits(b)
		if c := compareDigits(an, bn); c != 0 {
			return c
		}
	}
	return 0
}

func compareNonDigits(a, b string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		if c := cmp.Compare(charOrder(a, i), charOrder(b, i)); c != 0 {
			return c
		}
	}
	return 0
}

// charOrder weighs the i'th byte of s; the end of s weighs 0.
func charOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch c := s[i]; {
	case c == '~':
		return -1
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return int(c)
	default:
		return int(c) + 256
	}
}

// compareDigits compares two runs of decimal digits of any length.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func cutNonDigits(s string) (run, rest string) {
	i := 0
	for i < len(s) && !isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func cutDigits(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Upstream returns the upstream part of a Debian version: "6.12.118" for
// "6.12.118-1", "7.3~rc7" for "1:7.3~rc7-1~exp1".
func Upstream(v string) string {
	_, up, _ := SplitVersion(v)
	return up
}

// SPDX-License-Identifier: MIT

package debpkg

import "strings"

// Available is one line of apt-cache madison: a package version in a suite.
type Available struct {
	Name, Version, Suite string
}

// ParseMadison reads apt-cache madison's "name | version | URL
// suite/component arch Packages" lines; source lines and others are
// skipped.
func ParseMadison(out []byte) []Available {
	var found []Available
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		where := strings.Fields(f[2])
		if len(where) < 2 || where[len(where)-1] != "Packages" {
			continue
		}
		suite, _, _ := strings.Cut(where[1], "/")
		found = append(found, Available{Name: strings.TrimSpace(f[0]), Version: strings.TrimSpace(f[1]), Suite: suite})
	}
	return found
}

// ParseStanzas reads deb822 paragraphs (apt-cache show).
func ParseStanzas(out []byte) []map[string]string {
	var all []map[string]string
	var st map[string]string
	var last string
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			st = nil
		case line[0] == ' ' || line[0] == '\t':
			if st != nil && last != "" {
				st[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if st == nil {
				st = map[string]string{}
				all = append(all, st)
			}
			last = k
			st[k] = strings.TrimSpace(v)
		}
	}
	return all
}

// Depends returns the package names in a Depends field, alternatives
// included, without versions or architecture qualifiers.
func Depends(field string) []string {
	var names []string
	for _, group := range strings.Split(field, ",") {
		for _, alt := range strings.Split(group, "|") {
			name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
			name, _, _ = strings.Cut(name, "(")
			name, _, _ = strings.Cut(name, ":")
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

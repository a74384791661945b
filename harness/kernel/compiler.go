// SPDX-License-Identifier: MIT

package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ccVersionText returns CONFIG_CC_VERSION_TEXT from a kernel .config, such
// as "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0".
func ccVersionText(config []byte) string {
	s := bufio.NewScanner(bytes.NewReader(config))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CONFIG_CC_VERSION_TEXT="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// ccVersionRE finds the compiler ("gcc-12", "x86_64-linux-gnu-gcc-16",
// "Debian clang") and the first full version after it.
var ccVersionRE = regexp.MustCompile(`\b(gcc|clang)\b.*?\b([0-9]+)\.[0-9]+\.[0-9]+`)

// parseCC returns the kind ("gcc", "clang") and major version of the
// compiler a CONFIG_CC_VERSION_TEXT names.
func parseCC(text string) (kind string, major int) {
	m := ccVersionRE.FindStringSubmatch(text)
	if m == nil {
		return "", 0
	}
	major, _ = strconv.Atoi(m[2])
	return m[1], major
}

// hostGCC is the major version of the host's gcc.
var hostGCC = sync.OnceValues(func() (int, error) {
	out, err := exec.Command("gcc", "-dumpversion").Output()
	if err != nil {
		return 0, fmt.Errorf("gcc -dumpversion: %w", err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, fmt.Errorf("gcc -dumpversion: unexpected %q", v)
	}
	return n, nil
})

// compilerMismatch explains why modules will not build with the host's gcc
// against a kernel built with cc, or returns "".
func compilerMismatch(cc string, host int, hostErr error) string {
	kind, major := parseCC(cc)
	switch {
	case hostErr != nil:
		return fmt.Sprintf("kernel built with %q; no host gcc to compare (%v)", cc, hostErr)
	case kind == "":
		return fmt.Sprintf("kernel built with an unrecognised compiler %q", cc)
	case kind != "gcc":
		return fmt.Sprintf("kernel built with %s (%q); the host has gcc %d", kind, cc, host)
	case major < host:
		// Checked with 5.10 (gcc-10) on gcc 12: hello.ko builds with CC=gcc.
		return fmt.Sprintf("kernel built with gcc %d (%q) and the host has gcc %d: Debian's headers call gcc-%d, "+
			"so build modules with CC=gcc (an older kernel usually builds with a newer gcc)", major, cc, host, major)
	case major > host:
		return fmt.Sprintf("kernel built with gcc %d (%q) but the host has gcc %d, which lacks its options: "+
			"modules need gcc %d (a chroot of the kernel's suite, or a source build with the host's gcc)", major, cc, host, major)
	}
	return ""
}

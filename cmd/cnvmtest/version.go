// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"runtime/debug"
)

// version says which cnvmtest this is: the module version (a tag or a
// pseudo-version under go install, "(devel)" in a checkout), the VCS
// revision and whether the tree had changes, and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cnvmtest (no build information)"
	}
	rev, modified := "unknown", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev == "unknown" {
		// go install pkg@version records no VCS settings; the module
		// version names the commit.
		rev = "from the module version"
	}
	return fmt.Sprintf("cnvmtest %s revision %s%s %s", bi.Main.Version, rev, modified, bi.GoVersion)
}

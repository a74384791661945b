// SPDX-License-Identifier: MIT

package kernel

import (
	"fmt"
	"os"
	"syscall"
)

// fileID identifies a file's current contents without reading them: its
// device, inode, size, and modification and change times. Any write,
// truncation or rename over the name changes it (the change time cannot be
// set back from user space), so an unchanged fileID means unchanged
// contents. It is "" and false when the file cannot be stat'ed.
func fileID(name string) (string, bool) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d %d %d.%09d %d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), true
}

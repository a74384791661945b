// SPDX-License-Identifier: MIT

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// FileID identifies a file's current contents without reading them: its
// device, inode, size, and modification and change times. Any write,
// truncation or rename over the name changes it (the change time cannot be
// set back from user space), so an unchanged FileID means unchanged
// contents. It is "" and false when the file cannot be stat'ed.
func FileID(name string) (string, bool) {
	st, ok := stat(name)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d %d %d.%09d %d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), true
}

// LinkedFileID is FileID without the change time, which a new hard link
// to the file also changes: it identifies the contents of a file that is
// linked into new places but written only through new inodes (a cache's
// binaries), and changes with any write that leaves the modification time
// as the kernel set it.
func LinkedFileID(name string) (string, bool) {
	st, ok := stat(name)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d %d %d.%09d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec), true
}

func stat(name string) (*syscall.Stat_t, bool) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

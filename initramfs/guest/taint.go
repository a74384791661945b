// SPDX-License-Identifier: MIT

package guest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ReadTaint returns the running kernel's taint mask,
// /proc/sys/kernel/tainted (Documentation/admin-guide/tainted-kernels.rst):
// the runner reports it around each test, and tests watch it.
func ReadTaint() (uint64, error) {
	b, err := os.ReadFile("/proc/sys/kernel/tainted")
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/sys/kernel/tainted: %w", err)
	}
	return v, nil
}

// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"testing"

	"github.com/cnvmtest/cnvmtest/initramfs/guest"
)

func TestInsideIsWhatTheHarnessLooksFor(t *testing.T) {
	if inside != guest.RunnerInside() {
		t.Errorf("the runner holds %q, the harness looks for %q", inside, guest.RunnerInside())
	}
}

func TestIsInit(t *testing.T) {
	for _, c := range []struct {
		pid  int
		args []string
		want bool
	}{
		{1, []string{"/init"}, true},
		// The test binary the runner starts, and its helpers.
		{57, []string{"/cnvm/tests.test", "-test.v=test2json"}, false},
		// A helper that is process 1 of a new PID namespace.
		{1, []string{"/cnvm/tests.test"}, false},
		{57, []string{"/init"}, false},
		{1, nil, false},
	} {
		if got := isInit(c.pid, c.args); got != c.want {
			t.Errorf("isInit(%d, %q) = %v, want %v", c.pid, c.args, got, c.want)
		}
	}
}

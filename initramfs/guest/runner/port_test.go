// SPDX-License-Identifier: MIT

//go:build linux

package runner

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openWhenReady waits out a port that does not exist yet and one whose
// node exists before its driver lists it (ENXIO), gives up after about
// 10 s, and does not wait for errors that will not go away.
func TestOpenWhenReady(t *testing.T) {
	ready, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer ready.Close()
	pathErr := func(errno unix.Errno) error { return &fs.PathError{Op: "open", Path: "/dev/vport0p1", Err: errno} }
	tests := []struct {
		name   string
		errs   []error // what the opens before the last return
		last   error   // what every later open returns; nil: the port
		opens  int
		waited time.Duration
	}{
		{name: "at once", opens: 1},
		{name: "no node, then no port, then the port", errs: []error{pathErr(unix.ENOENT), pathErr(unix.ENXIO), pathErr(unix.ENXIO)}, opens: 4, waited: 70 * time.Millisecond},
		{name: "never there", last: pathErr(unix.ENXIO), opens: 11, waited: 10230 * time.Millisecond},
		{name: "refused", last: pathErr(unix.EACCES), opens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opens := 0
			var waited time.Duration
			open := func() (*os.File, error) {
				opens++
				if opens <= len(tt.errs) {
					return nil, tt.errs[opens-1]
				}
				if tt.last != nil {
					return nil, tt.last
				}
				return ready, nil
			}
			f, err := openWhenReady(open, func(d time.Duration) { waited += d })
			if tt.last == nil && (err != nil || f != ready) {
				t.Errorf("openWhenReady = %v, %v; want the port", f, err)
			}
			if tt.last != nil && !errors.Is(err, tt.last) {
				t.Errorf("openWhenReady error %v, want %v", err, tt.last)
			}
			if opens != tt.opens || waited != tt.waited {
				t.Errorf("%d opens after waiting %s; want %d after %s", opens, waited, tt.opens, tt.waited)
			}
		})
	}
}

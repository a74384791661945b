// SPDX-License-Identifier: MIT

package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func lock(ctx context.Context, path string, exclusive bool, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	try := func() (bool, error) {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
			return false, nil
		}
		return err == nil, err
	}
	locked, err := try()
	if !locked && err == nil {
		if waiting != nil {
			waiting()
		}
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for !locked && err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-tick.C:
				locked, err = try()
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

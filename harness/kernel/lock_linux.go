package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes a flock on path, shared or exclusive, waiting until ctx is
// done; waiting, if not nil, is called once when another process holds it.
// Closing the file (unlock) releases the lock, and so does the process dying.
func lockFile(ctx context.Context, path string, exclusive bool, waiting func()) (unlock func(), err error) {
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
		// flock cannot be interrupted by a context, so poll.
		tick := time.NewTicker(50 * time.Millisecond)
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

// SPDX-License-Identifier: MIT

// Package flock takes advisory file locks (flock(2)) that a context can
// interrupt while they wait.
package flock

import (
	"context"
	"time"
)

// pollInterval is how often a waiting Lock tries again: flock(2) itself
// cannot be interrupted by a context, so a blocked lock is polled with
// LOCK_NB instead.
const pollInterval = 50 * time.Millisecond

// Lock takes a flock on path (created if missing), exclusive or shared. If
// another process holds a conflicting lock, waiting (when not nil) is
// called once and Lock tries again every 50 ms until it gets the lock or
// ctx is done, in which case it returns an error wrapping ctx.Err().
//
// unlock releases the lock by closing the file; the lock also goes when the
// process dies, so a crashed holder never blocks others.
func Lock(ctx context.Context, path string, exclusive bool, waiting func()) (unlock func(), err error) {
	return lock(ctx, path, exclusive, waiting)
}

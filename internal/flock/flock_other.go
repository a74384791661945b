// SPDX-License-Identifier: MIT

//go:build !linux

package flock

import (
	"context"
	"errors"
)

func lock(ctx context.Context, path string, exclusive bool, waiting func()) (func(), error) {
	return nil, errors.New("locking: flock is only implemented on Linux")
}

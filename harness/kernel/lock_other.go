//go:build !linux

package kernel

import (
	"context"
	"errors"
)

func lockFile(ctx context.Context, path string, exclusive bool, waiting func()) (unlock func(), err error) {
	return nil, errors.New("locking: kernel provisioning needs Linux")
}

// SPDX-License-Identifier: MIT

package connector

import (
	"errors"

	"github.com/mdlayher/netlink"
)

// ErrTruncated reports a datagram longer than Config.RecvBufSize: the kernel
// set MSG_TRUNC and discarded the rest of it (docs/connector.md §1.5), so none of
// its messages are returned. The error wrapping it gives both sizes.
var ErrTruncated = errors.New("datagram truncated")

// An OpError is the error returned by a Conn: the operation that failed and
// why.
//
// Err is an *os.SyscallError for a failed system call, so
// errors.Is(err, unix.ENOBUFS) detects a receive-queue overrun; it is
// ctx.Err() when the context ends a Receive; it wraps ErrTruncated for a
// truncated datagram.
type OpError struct {
	// Op names the operation, such as "dial", "send" or "receive".
	Op string

	// Err is the underlying error.
	Err error
}

func (e *OpError) Error() string {
	if e == nil {
		return "<nil>"
	}
	return "connector " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns Err so that errors.Is and errors.As see the cause.
func (e *OpError) Unwrap() error { return e.Err }

// newOpError returns nil for a nil err, like os.NewSyscallError. It unwraps a
// *netlink.OpError first so that messages do not name two operations.
func newOpError(op string, err error) error {
	if err == nil {
		return nil
	}
	if ne, ok := err.(*netlink.OpError); ok {
		err = ne.Err
	}
	return &OpError{Op: op, Err: err}
}

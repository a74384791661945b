// SPDX-License-Identifier: MIT

//go:build !linux

package connector

import (
	"fmt"
	"runtime"

	"github.com/mdlayher/netlink"
)

// errUnimplemented is returned by Dial on platforms without netlink.
var errUnimplemented = fmt.Errorf("connector: not implemented on %s/%s",
	runtime.GOOS, runtime.GOARCH)

func dial(_ *Config) (*Conn, error) { return nil, newOpError("dial", errUnimplemented) }

// newTransport can only use netlink.Conn's own I/O here, as nltest fakes do.
func newTransport(nl *netlink.Conn, _ int) transport { return &nlTransport{nl: nl} }

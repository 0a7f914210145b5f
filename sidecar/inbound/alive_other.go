//go:build !linux

package inbound

import "net"

// peeker cannot peek portably; a closed connection is then found on use (and a
// request without a body is retried).
type peeker struct{}

func newPeeker(net.Conn) *peeker { return &peeker{} }

func (*peeker) peerOpen() bool { return true }

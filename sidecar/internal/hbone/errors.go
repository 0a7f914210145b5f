package hbone

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2"
)

var (
	// ErrClosed: the connection has closed.
	ErrClosed = errors.New("hbone: connection closed")
	// ErrRefused: the peer did not process the stream (REFUSED_STREAM, or GOAWAY
	// below its ID); opening it again on another connection is safe.
	ErrRefused = errors.New("hbone: stream refused")

	errStreamClosed  = errors.New("hbone: stream closed")
	errWriteAfterEnd = errors.New("hbone: write after CloseWrite")
	errNotAccepted   = errors.New("hbone: stream not accepted yet")
	errFlowControl   = errors.New("hbone: peer overran the flow-control window")
)

// StreamError is a stream reset by the peer, or by us for its protocol error.
type StreamError struct{ Code http2.ErrCode }

func (e *StreamError) Error() string { return fmt.Sprintf("hbone: stream reset (%v)", e.Code) }

// StatusError is a CONNECT the destination answered with a status other than 200.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("hbone: CONNECT answered %d", e.Status) }

//go:build !linux

package inbound

import (
	"context"
	"log/slog"
)

// parker parks idle connections on Linux only (park_linux.go); elsewhere each
// connection's goroutine waits for its next request itself.
type parker struct{}

func newParker(context.Context, *slog.Logger) *parker { return nil }

func (p *parker) stop() {}

func (p *parker) park(*idler) bool { return false }

package hbone

import (
	"log/slog"
	"time"

	"golang.org/x/net/http2"
)

// Config tunes one connection. The zero value of a field means its default.
type Config struct {
	// MaxConcurrentStreams bounds the streams the peer may open (server side).
	// Default 100.
	MaxConcurrentStreams uint32
	// StreamWindow is the receive window of each stream: what a stream whose reader
	// stops may hold in memory (plus 8 KiB of chunk rounding). Default 256 KiB.
	StreamWindow uint32
	// ConnWindow is the receive window of the connection: what all its streams
	// together may hold unread. Default 2 MiB.
	ConnWindow uint32
	// MaxHeaderBytes bounds a received header list (HPACK-decoded). Default 16 KiB.
	MaxHeaderBytes uint32
	// IdleTimeout closes the connection (GOAWAY first) when it has had no stream
	// for this long. Zero: never.
	IdleTimeout time.Duration
	// PingInterval pings the peer when nothing was read for this long, and closes
	// the connection when the ping is not answered within PingTimeout. Zero: never.
	PingInterval time.Duration
	// PingTimeout: see PingInterval. Default 15s.
	PingTimeout time.Duration
	// WriteTimeout bounds one write to the connection (a peer that stops reading).
	// Default 15s.
	WriteTimeout time.Duration
	// Logger reports recovered handler panics. Default slog.Default().
	Logger *slog.Logger
	// AdmitStream is asked before a peer's new stream is served (server side);
	// false refuses it with RST_STREAM(REFUSED_STREAM), which the peer may retry
	// elsewhere. The inbound proxy refuses under memory pressure. It runs on the
	// connection's read loop, so it must be quick. Nil admits every stream.
	AdmitStream func() bool
	// OnViolation is told when the peer exceeded one of the package's budgets
	// (see the package doc) and the connection is being closed with GOAWAY
	// ENHANCE_YOUR_CALM. reason names the budget, fit for a metric label: one
	// of ping, settings, empty_frames, rst_stream, rapid_reset, window_update,
	// ignored_frames, control_queue. It runs on the read loop, so it must be
	// quick. Nil: not told.
	OnViolation func(reason string)
}

func (c *Config) setDefaults() {
	def := func(v *uint32, d uint32) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxConcurrentStreams, 100)
	def(&c.StreamWindow, defaultStreamWindow)
	def(&c.ConnWindow, defaultConnWindow)
	def(&c.MaxHeaderBytes, 16<<10)
	// At least the protocol's initial window: a peer may use that much before
	// our SETTINGS arrive.
	c.StreamWindow = min(max(c.StreamWindow, initialWindow), maxWindow)
	c.ConnWindow = min(max(c.ConnWindow, initialWindow+1), maxWindow)
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

const (
	maxWindow     = 1<<31 - 1
	initialWindow = 65535 // RFC 9113 §6.9.2, before SETTINGS say otherwise
	defaultFrame  = 16384
	// Receive windows by default: what one stream and one connection may hold
	// unread. Per connection, min(ConnWindow, MaxConcurrentStreams*StreamWindow).
	defaultStreamWindow = 256 << 10
	defaultConnWindow   = 2 << 20
	maxWriteBurst       = 64 << 10 // DATA written per lock hold, so one stream cannot hog the wire
	clientPreface       = http2.ClientPreface
	settingsTimeout     = 10 * time.Second
)

package hbone

import (
	"fmt"
	"time"

	"golang.org/x/net/http2"
)

// Per-connection budgets for frames that cost us work but carry no data. The
// package doc states them with their reasons; a peer past one is sent GOAWAY
// ENHANCE_YOUR_CALM and the connection closes.
const (
	pingBurst, pingPerSecond         = 100, 10 // + 1 per DATA frame with payload
	settingsBurst, settingsPerSecond = 100, 10
	maxEmptyRun                      = 100 // consecutive DATA/HEADERS/CONTINUATION without payload nor END_STREAM
	controlBase                      = 100
	maxIgnoredPerStream              = 100 // PRIORITY, unknown, GOAWAY, blocks and DATA on closed streams
	maxResetsPerStream               = 2
	maxUpdatesPerDataFrame           = 10 // WINDOW_UPDATE per DATA frame we sent
	maxBadStreams                    = 100
)

// violation is a peer past one of the budgets.
type violation struct {
	reason string // a short fixed name, for metric labels (Config.OnViolation)
	detail string
}

func (v *violation) Error() string { return "hbone: peer exceeded its budget: " + v.detail }

// bucket is a token bucket: burst tokens, refilled at rate per second.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, burst, rate float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// budgets counts a connection's frames; only the read loop touches it.
type budgets struct {
	ping, settings bucket
	emptyRun       int
	ignored        uint64
	resets         uint64
	updates        uint64
	bad            uint64 // server: streams refused past the limit or reset before their answer
}

// opened is the streams opened on the connection so far, in either direction.
func (c *Conn) opened() uint64 { return c.streamsOpened.Load() }

// spend checks a frame against the budgets before it is handled.
func (c *Conn) spend(f http2.Frame) error {
	b := &c.budget
	switch f := f.(type) {
	case *http2.DataFrame:
		if len(f.Data()) > 0 {
			b.emptyRun = 0
			b.ping.tokens = min(b.ping.tokens+1, pingBurst)
		} else if !f.StreamEnded() {
			return c.emptyFrame()
		}
	case *http2.MetaHeadersFrame:
		if len(f.Fields) == 0 && !f.StreamEnded() {
			return c.emptyFrame()
		}
		b.emptyRun = 0
	case *http2.PingFrame:
		if !b.ping.take(time.Now(), pingBurst, pingPerSecond) {
			return &violation{reason: "ping", detail: "PING flood"}
		}
	case *http2.SettingsFrame:
		if !b.settings.take(time.Now(), settingsBurst, settingsPerSecond) {
			return &violation{reason: "settings", detail: "SETTINGS flood"}
		}
	case *http2.RSTStreamFrame:
		b.resets++
		if b.resets > controlBase+maxResetsPerStream*c.opened() {
			return &violation{reason: "rst_stream", detail: "RST_STREAM flood"}
		}
	case *http2.WindowUpdateFrame:
		b.updates++
		if b.updates > controlBase+2*c.opened()+maxUpdatesPerDataFrame*c.dataSent.Load() {
			return &violation{reason: "window_update", detail: "WINDOW_UPDATE flood"}
		}
	default: // PRIORITY, PRIORITY_UPDATE, GOAWAY, unknown types
		return c.ignoredFrame()
	}
	return nil
}

func (c *Conn) emptyFrame() error {
	c.budget.emptyRun++
	if c.budget.emptyRun > maxEmptyRun {
		return &violation{reason: "empty_frames", detail: "empty DATA or HEADERS flood"}
	}
	return nil
}

// ignoredFrame counts a frame that asks nothing of us (PRIORITY,
// PRIORITY_UPDATE, an unknown type, GOAWAY, a header block for a closed
// stream), like Envoy's
// max_inbound_priority_frames_per_stream.
func (c *Conn) ignoredFrame() error {
	c.budget.ignored++
	if c.budget.ignored > maxIgnoredPerStream*(1+c.opened()) {
		return &violation{reason: "ignored_frames", detail: "PRIORITY or other ignored frame flood"}
	}
	return nil
}

// badStream counts a server stream that was malformed, refused past
// MAX_CONCURRENT_STREAMS or reset by the peer before its answer (rapid reset,
// CVE-2023-44487): past maxBadStreams, and more than half of the streams
// opened, the peer is only making us work. Call from the read loop.
func (c *Conn) badStream() error {
	c.budget.bad++
	if c.budget.bad > maxBadStreams && 2*c.budget.bad > c.opened() {
		return &violation{reason: "rapid_reset",
			detail: fmt.Sprintf("rapid reset: %d of %d streams malformed, refused or reset before an answer", c.budget.bad, c.opened())}
	}
	return nil
}

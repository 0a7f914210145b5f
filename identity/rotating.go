package identity

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// RotatingOptions configure a RotatingSource. The zero value is usable.
type RotatingOptions struct {
	// TTL is the lifetime of each SVID (DefaultSVIDTTL when 0). The source re-issues
	// at half-life, so a TTL of a few seconds rotates every second or two.
	TTL time.Duration
	// Metrics, when set, records SVID expiry and rotations.
	Metrics *Metrics
	// Logger receives rotation failures (slog.Default() when nil).
	Logger *slog.Logger
}

const (
	// retryAfterFailure is how soon a failed re-issue is retried; the old SVID stays
	// in use meanwhile.
	retryAfterFailure = time.Second
	// minRotation keeps a sub-second TTL from turning into a busy loop.
	minRotation = 100 * time.Millisecond
)

// RotatingSource is an in-process Source backed by a CA: it issues an SVID for one ID
// and re-issues it at half of its lifetime until closed. The demo and tests use it.
type RotatingSource struct {
	*store
	ca     *CA
	id     spiffeid.ID
	opts   RotatingOptions
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRotatingSource issues the first SVID for id synchronously (so the source is
// ready when it returns) and starts re-issuing in the background.
func NewRotatingSource(ca *CA, id spiffeid.ID, opts RotatingOptions) (*RotatingSource, error) {
	if opts.TTL == 0 {
		opts.TTL = DefaultSVIDTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &RotatingSource{store: newStore("builtin", opts.Metrics), ca: ca, id: id, opts: opts, done: make(chan struct{})}
	next, err := s.issue()
	if err != nil {
		return nil, fmt.Errorf("rotating source: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx, next)
	return s, nil
}

// Close stops re-issuing. The last SVID stays readable until it expires.
func (s *RotatingSource) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// issue makes a new SVID, installs it and returns when the next one is due.
func (s *RotatingSource) issue() (time.Duration, error) {
	start := time.Now()
	svid, err := s.ca.Issue(s.id, s.opts.TTL)
	if err != nil {
		return 0, err
	}
	s.set(svid, s.ca.Bundle())
	return max(svid.Certificates[0].NotAfter.Sub(start)/2, minRotation), nil
}

func (s *RotatingSource) run(ctx context.Context, wait time.Duration) {
	defer close(s.done)
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := s.issue()
		if err != nil {
			s.opts.Logger.Error("re-issue SVID failed; keeping the current one", "spiffe_id", s.id.String(), "err", err)
			next = retryAfterFailure
		}
		t.Reset(next)
	}
}

package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// CAClientOptions configure a CAClientSource.
type CAClientOptions struct {
	// URL is the cluster CA, e.g. https://rampart-injector.rampart-system.svc:15012;
	// CASignPath is used when it has no path.
	URL string
	// TokenFile holds the pod's projected service-account token of audience
	// CATokenAudience. It is read again for every request: the kubelet rotates it.
	TokenFile string
	// Bundle holds the PEM roots the CA's serving certificate must chain to (the
	// trust domain's roots). Peers are verified against the bundle of the CA's answer.
	Bundle []byte
	// TrustDomain is the mesh's; an SVID of another one is refused.
	TrustDomain spiffeid.TrustDomain
	// ID, when set, is the only SPIFFE ID accepted in an answer (this proxy's own),
	// so a misconfigured token fails at start, not in peers' policies.
	ID spiffeid.ID
	// Timeout bounds one request to the CA. Default 10s.
	Timeout time.Duration
	// StartTimeout bounds the retries for the first SVID (the CA may start after the
	// pod). Default 60s.
	StartTimeout time.Duration
	// Metrics, when set, records SVID expiry and rotations.
	Metrics *Metrics
	// Logger receives failed renewals (slog.Default() when nil). Tokens are never logged.
	Logger *slog.Logger
}

func (o *CAClientOptions) setDefaults() {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if !strings.Contains(strings.TrimPrefix(strings.TrimPrefix(o.URL, "https://"), "http://"), "/") {
		o.URL = strings.TrimSuffix(o.URL, "/") + CASignPath
	}
}

func (o *CAClientOptions) validate() (*x509.CertPool, error) {
	if !strings.HasPrefix(o.URL, "https://") {
		return nil, fmt.Errorf("CA URL %q: want https://host:port", o.URL)
	}
	if o.TokenFile == "" {
		return nil, errors.New("no service-account token file")
	}
	if o.TrustDomain.IsZero() {
		return nil, errors.New("no trust domain")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(o.Bundle) {
		return nil, errors.New("CA bundle holds no PEM certificate")
	}
	return pool, nil
}

// Retry timing of a CAClientSource: the first retry comes soon (the CA may be
// starting), later ones back off so an outage does not become a flood.
const (
	caRetryMin = 500 * time.Millisecond
	caRetryMax = 30 * time.Second
)

// CAClientSource gets this workload's SVID from Rampart's cluster CA: it sends a CSR
// for a fresh key with the pod's service-account token, and renews at half-life
// like RotatingSource. The CA decides the ID from the token; when a renewal fails the
// current SVID stays in use and the source retries with backoff.
type CAClientSource struct {
	*store
	opts   CAClientOptions
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// NewCAClientSource fetches the first SVID (retrying until StartTimeout or ctx ends)
// and starts renewing in the background.
func NewCAClientSource(ctx context.Context, opts CAClientOptions) (*CAClientSource, error) {
	opts.setDefaults()
	pool, err := opts.validate()
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
	}
	s := &CAClientSource{store: newStore("ca", opts.Metrics), opts: opts,
		client: &http.Client{Timeout: opts.Timeout, Transport: tr}, done: make(chan struct{})}
	next, err := s.first(ctx)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("cluster CA %s: %w", opts.URL, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(runCtx, next)
	return s, nil
}

// Close stops renewing. The last SVID stays readable until it expires.
func (s *CAClientSource) Close() error {
	s.cancel()
	<-s.done
	s.client.CloseIdleConnections()
	return nil
}

func (s *CAClientSource) first(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	wait := caRetryMin
	for {
		next, err := s.renew(ctx)
		if err == nil {
			return next, nil
		}
		s.opts.Logger.Warn("no SVID from the cluster CA yet; retrying", "url", s.opts.URL, "err", err)
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no SVID within %s: %w", s.opts.StartTimeout, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, caRetryMax)
	}
}

func (s *CAClientSource) run(ctx context.Context, wait time.Duration) {
	defer close(s.done)
	t := time.NewTimer(wait)
	defer t.Stop()
	backoff := caRetryMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := s.renew(ctx)
		if err != nil {
			s.opts.Logger.Error("renew SVID from the cluster CA failed; keeping the current one", "url", s.opts.URL, "err", err)
			next, backoff = backoff, min(2*backoff, caRetryMax)
		} else {
			backoff = caRetryMin
		}
		t.Reset(next)
	}
}

// renew gets a new SVID, installs it and returns when the next one is due.
func (s *CAClientSource) renew(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	svid, bundle, err := requestSVID(ctx, s.client, s.opts.URL, s.opts.TokenFile)
	if err != nil {
		return 0, err
	}
	if svid.ID.TrustDomain() != s.opts.TrustDomain {
		return 0, fmt.Errorf("%w: CA issued %s, want trust domain %q", ErrWrongTrustDomain, svid.ID, s.opts.TrustDomain)
	}
	if !s.opts.ID.IsZero() && svid.ID != s.opts.ID {
		return 0, fmt.Errorf("CA issued %s, want %s (is the token of this pod's service account?)", svid.ID, s.opts.ID)
	}
	s.set(svid, bundle)
	return max(svid.Certificates[0].NotAfter.Sub(start)/2, minRotation), nil
}

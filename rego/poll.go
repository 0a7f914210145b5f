package rego

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// PollOptions configures Poll: one bundle from an HTTP bundle service (OPA's bundle
// protocol: GET with If-None-Match, 200 with a .tar.gz and an ETag, or 304).
type PollOptions struct {
	// URL is the bundle's full address (OPA's service url + resource).
	URL string
	// Client makes the requests; default: a client with a 30 s timeout.
	Client *http.Client
	// Header is added to every request (e.g. Authorization).
	Header http.Header
	// MinDelay and MaxDelay bound the random wait between successful polls
	// (default 60 s and 120 s, as OPA's min/max_delay_seconds).
	MinDelay, MaxDelay time.Duration
	// MaxBackoff caps the exponential wait after failures (default 120 s).
	MaxBackoff time.Duration
	// MaxBytes caps the download (the .tar.gz as sent); a bigger one is refused with
	// ErrBundleTooLarge before it is unpacked. Default DefaultMaxBundleBytes.
	MaxBytes int64
}

// DefaultMaxBundleBytes is PollOptions.MaxBytes unless set: far above any policy
// bundle (10 000 rules compress to well under 1 MiB), far below what would hurt a
// sidecar's memory.
const DefaultMaxBundleBytes = 32 << 20

func (o *PollOptions) setDefaults() {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.MinDelay <= 0 {
		o.MinDelay = 60 * time.Second
	}
	if o.MaxDelay < o.MinDelay {
		o.MaxDelay = 2 * o.MinDelay
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 120 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBundleBytes
	}
}

// Poll keeps the bundle called name in sync with an HTTP bundle service until ctx
// ends, then returns ctx's error. A failed download or a refused bundle keeps the last
// good revision and retries with exponential backoff; each failure is logged once
// (by PollOnce, as every refused load is).
func (e *Engine) Poll(ctx context.Context, name string, o PollOptions) error {
	o.setDefaults()
	etag := ""
	failures := 0
	for {
		next, err := e.PollOnce(ctx, name, o, etag)
		switch {
		case err == nil:
			etag, failures = next, 0
		case errors.Is(err, ErrNotModified):
			failures = 0
		default:
			failures++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.Delay(failures)):
		}
	}
}

// Delay returns the pause before the next poll after the given number of consecutive
// failures: a random delay in [MinDelay, MaxDelay] when healthy, and after failures
// a random delay in [d/2, d] with d = MinDelay·2^failures capped at MaxBackoff.
// Call it on options that went through Poll (defaults applied) or fully set.
func (o PollOptions) Delay(failures int) time.Duration {
	if failures == 0 {
		return o.MinDelay + rand.N(o.MaxDelay-o.MinDelay+1)
	}
	d := o.MaxBackoff
	if failures < 30 && o.MinDelay<<failures < o.MaxBackoff {
		d = o.MinDelay << failures
	}
	return d/2 + rand.N(d/2+1) // jitter keeps a fleet of proxies from polling in step
}

// PollOnce fetches the bundle once. It sends etag as If-None-Match and returns the
// new ETag after a successful load, or ErrNotModified on 304.
func (e *Engine) PollOnce(ctx context.Context, name string, o PollOptions, etag string) (string, error) {
	o.setDefaults()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return "", e.refuse(name, &BundleError{Bundle: name, Err: err})
	}
	for k, v := range o.Header {
		req.Header[k] = v
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return "", e.refuse(name, &BundleError{Bundle: name, Err: fmt.Errorf("download: %w", err)})
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return etag, ErrNotModified
	case http.StatusOK:
	default:
		return "", e.refuse(name, &BundleError{Bundle: name, Err: fmt.Errorf("download %s: %s", o.URL, resp.Status)})
	}
	body, err := readCapped(resp, o.MaxBytes)
	if err != nil {
		return "", e.refuse(name, &BundleError{Bundle: name, Err: fmt.Errorf("download %s: %w", o.URL, err)})
	}
	next := resp.Header.Get("ETag")
	if err := e.load(ctx, name, &guardLoader{DirectoryLoader: bundle.NewTarballLoaderWithBaseURL(bytes.NewReader(body), "")}, next); err != nil {
		return "", err
	}
	return next, nil
}

// readCapped reads the whole body, refusing one longer than max bytes: up front when
// the service declares its length, else as soon as one byte too many arrives.
func readCapped(resp *http.Response, max int64) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBundleTooLarge, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(body)) > max:
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBundleTooLarge, max)
	}
	return body, nil
}

package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// authorizer returns the configured Authorizer, or a rego engine with the bundle
// loaded (then also returned, for reloads). A bundle that does not load is an
// error at start: better not to run than to run denying everything silently.
func authorizer(ctx context.Context, opts *Options) (inbound.Authorizer, *rego.Engine, error) {
	p := opts.Policy
	if p.Authorizer != nil {
		return p.Authorizer, nil, nil
	}
	if p.Bundle == "" {
		return nil, nil, errors.New("sidecar: no policy bundle")
	}
	ropts := []rego.Option{rego.WithLogger(opts.Logger), rego.WithDryRun(p.DryRun)}
	if p.Decision != "" {
		ropts = append(ropts, rego.WithDecision(p.Decision))
	}
	if p.RequestBodyBytes > 0 {
		ropts = append(ropts, rego.WithRequestBody(p.RequestBodyBytes))
	}
	if p.DecisionLog != nil {
		ropts = append(ropts, rego.WithDecisionLog(p.DecisionLog))
	}
	if p.ShadowBundle != "" {
		sh, err := shadowEngine(ctx, p, opts.Logger)
		if err != nil {
			return nil, nil, err
		}
		ropts = append(ropts, rego.WithShadow(sh))
	}
	if opts.Registerer != nil {
		ropts = append(ropts, rego.WithMetrics(opts.Registerer))
	}
	e, err := rego.New(ropts...)
	if err != nil {
		return nil, nil, fmt.Errorf("sidecar: policy engine: %w", err)
	}
	if u, ok, err := bundleURL(p.Bundle); err != nil {
		return nil, nil, err
	} else if ok {
		opts.Logger.Info("polling bundle service", "url", u.Redacted(), "every", p.PollInterval)
		return e, e, nil // keepBundleFresh fetches it; not ready until then
	}
	if err := loadBundle(ctx, e, p.Bundle); err != nil {
		if p.AllowMissing && errors.Is(err, fs.ErrNotExist) {
			opts.Logger.Warn("no policy bundle yet: denying everything until it appears", "bundle", p.Bundle)
			return e, e, nil
		}
		return nil, nil, fmt.Errorf("sidecar: load bundle %s: %w", p.Bundle, err)
	}
	return e, e, nil
}

// shadowEngine loads the shadow bundle into an engine deciding like the active
// one but logging and counting nothing itself (the active engine does, per
// disagreement), and never in dry-run: its verdict is what it would enforce.
func shadowEngine(ctx context.Context, p PolicyOptions, log *slog.Logger) (*rego.Engine, error) {
	ropts := []rego.Option{rego.WithLogger(log)}
	if p.Decision != "" {
		ropts = append(ropts, rego.WithDecision(p.Decision))
	}
	if p.RequestBodyBytes > 0 {
		ropts = append(ropts, rego.WithRequestBody(p.RequestBodyBytes))
	}
	sh, err := rego.New(ropts...)
	if err != nil {
		return nil, fmt.Errorf("sidecar: shadow policy engine: %w", err)
	}
	if err := loadBundle(ctx, sh, p.ShadowBundle); err != nil {
		return nil, fmt.Errorf("sidecar: load shadow bundle %s: %w", p.ShadowBundle, err)
	}
	return sh, nil
}

func loadBundle(ctx context.Context, e *rego.Engine, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return e.LoadDir(ctx, "main", path)
	}
	if strings.HasSuffix(path, ".tar.gz") || strings.HasSuffix(path, ".tgz") {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return e.LoadTarball(ctx, "main", f)
	}
	return e.LoadFile(ctx, "main", path)
}

// bundleURL reports whether bundle names a bundle service rather than a path,
// and refuses a URL the poller could never fetch.
func bundleURL(bundle string) (*url.URL, bool, error) {
	if !strings.Contains(bundle, "://") {
		return nil, false, nil
	}
	u, err := url.Parse(bundle)
	if err != nil {
		return nil, false, fmt.Errorf("sidecar: bundle URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false, fmt.Errorf("sidecar: bundle URL %q: want http(s)://host/path", u.Redacted())
	}
	return u, true, nil
}

// keepBundleFresh follows the bundle until ctx ends: it polls a bundle URL
// (rego's Poll: ETag, jittered delay, backoff; a failed poll keeps the last good
// bundle) or re-reads a changed path. It returns a function that stops it.
func keepBundleFresh(ctx context.Context, e *rego.Engine, opts *Options) func() {
	p := opts.Policy
	if e == nil {
		return func() {}
	}
	if u, ok, _ := bundleURL(p.Bundle); ok { // validated by authorizer
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Poll(ctx, "main", rego.PollOptions{URL: u.String(), MinDelay: p.PollInterval,
				MaxDelay: p.PollInterval + p.PollInterval/4, MaxBackoff: 10 * p.PollInterval})
		}()
		return func() { cancel(); <-done }
	}
	if p.ReloadInterval > 0 {
		stop := watchBundle(ctx, e, p.Bundle, p.ReloadInterval, opts.Logger)
		if sh := e.Shadow(); sh != nil {
			stopShadow := watchBundle(ctx, sh, p.ShadowBundle, p.ReloadInterval, opts.Logger)
			return func() { stop(); stopShadow() }
		}
		return stop
	}
	return func() {}
}

// watchBundle reloads the bundle whenever its files change (a ConfigMap update,
// a new tarball). The engine refuses a bad update and keeps the last good one; the
// failure is logged. It returns a function that stops watching.
func watchBundle(ctx context.Context, e *rego.Engine, path string, every time.Duration, log *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := fingerprint(path)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fp := fingerprint(path)
			if fp == last {
				continue
			}
			last = fp
			if err := loadBundle(ctx, e, path); err != nil {
				log.Error("bundle update refused, keeping the last good bundle", "bundle", path, "err", err)
				continue
			}
			log.Info("bundle reloaded", "bundle", path, "revision", e.Revision())
		}
	}()
	return func() { cancel(); <-done }
}

// fingerprint summarizes names, sizes, modification times and inodes under path,
// following symlinks: in a ConfigMap volume every file is a symlink through
// ..data, and the kubelet updates it by swapping ..data, so the symlinks' own
// metadata never changes.
func fingerprint(path string) string {
	var b strings.Builder
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(&b, "%s:err;", p)
			return nil
		}
		if fi, err := os.Stat(p); err == nil {
			var ino uint64
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				ino = st.Ino
			}
			fmt.Fprintf(&b, "%s:%d:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano(), ino)
		}
		return nil
	})
	return b.String()
}

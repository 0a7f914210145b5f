package injector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// WebhookPath is the HTTPS path the MutatingWebhookConfiguration calls.
const WebhookPath = "/inject"

// ServerOptions configure the webhook's HTTPS server.
type ServerOptions struct {
	// Addr is the listen address for Run. Default ":9443".
	Addr string
	// CertFile and KeyFile hold the serving certificate; they are reloaded when they
	// change on disk (a Secret volume update, cert-manager renewal).
	CertFile, KeyFile string
	// Config is what gets injected.
	Config Config
	// MaxRequestBytes bounds a request body. Default DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Logger receives refused requests (warn) and decisions (debug). Default: discard.
	Logger *slog.Logger
}

func (o *ServerOptions) setDefaults() {
	if o.Addr == "" {
		o.Addr = ":9443"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run listens on opts.Addr and serves the webhook until ctx is done.
func Run(ctx context.Context, opts ServerOptions) error {
	opts.setDefaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("injector: listen: %w", err)
	}
	return Serve(ctx, ln, opts)
}

// Serve serves the webhook (WebhookPath) and a /healthz endpoint over TLS on ln until
// ctx is done, then shuts down gracefully. It closes ln.
func Serve(ctx context.Context, ln net.Listener, opts ServerOptions) error {
	opts.setDefaults()
	h, err := NewHandler(opts.Config)
	if err != nil {
		ln.Close()
		return fmt.Errorf("injector: %w", err)
	}
	cw, err := certwatcher.New(opts.CertFile, opts.KeyFile)
	if err != nil {
		ln.Close()
		return fmt.Errorf("injector: serving certificate: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchErr := make(chan error, 1)
	go func() { watchErr <- cw.Start(ctx) }()

	srv := newHTTPServer(NewReviewHandler(h, opts.MaxRequestBytes, opts.Logger), cw, opts.Logger)
	err = serveUntilDone(ctx, srv, tls.NewListener(ln, srv.TLSConfig))
	cancel()
	if werr := <-watchErr; werr != nil && !errors.Is(werr, context.Canceled) {
		return fmt.Errorf("injector: certificate watcher: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("injector: serve: %w", err)
	}
	return nil
}

// serveUntilDone serves srv on ln (already TLS) until ctx ends, then shuts it down
// gracefully (10 s at most); a shutdown is not an error. The webhook and the cluster
// CA share it.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		shut, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = srv.Shutdown(shut)
	})
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newHTTPServer(review http.Handler, cw *certwatcher.CertWatcher, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, review)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cw.GetCertificate},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// Check is one readiness condition: nil when met, else why not.
type Check struct {
	Name  string
	Check func() error
	// Detail, when set, adds a line "<name>: <detail>" to a ready answer (how
	// stale a source is, say: ready, but worth knowing).
	Detail func() string
}

// Options configure the admin server.
type Options struct {
	// Listen is the admin address. Default ":15020".
	Listen string
	// Gatherer serves /metrics. Default: an empty registry.
	Gatherer prometheus.Gatherer
	// Ready lists what must hold before /healthz/ready answers 200, e.g. "svid"
	// (an SVID is loaded) and "policy" (a bundle is loaded). With none, ready.
	Ready []Check
	// Config is served as JSON at /debug/config; keep secrets out of it.
	Config any
	// AppProbes is RAMPART_APP_PROBES (see ParseProbes). Default: none.
	AppProbes string
	// Logger receives failed app probes. Default: discarded.
	Logger *slog.Logger
	// Decisions, when set, serves the latest decisions at /debug/decisions;
	// without it that path answers 404 with NoRingMessage.
	Decisions *DecisionRing
}

// NoRingMessage is /debug/decisions' 404 body on a proxy that keeps no decision
// ring; `rampart observe` shows it as is.
const NoRingMessage = "no decision ring: start the proxy with --decision-ring-bytes (RAMPART_DECISION_RING_BYTES)"

// Server is the admin HTTP server.
type Server struct {
	opts   Options
	probes map[string]Probe
	prober *prober
	mux    *http.ServeMux
}

// New parses the app probes (a bad RAMPART_APP_PROBES is an error at start) and
// builds the handler.
func New(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = contract.AdminAddr
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	probes, err := ParseProbes(opts.AppProbes)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{opts: opts, probes: probes, prober: newProber(), mux: http.NewServeMux()}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /healthz/ready", s.ready)
	s.mux.HandleFunc("GET /healthz/live", func(w http.ResponseWriter, _ *http.Request) { write(w, 200, "live\n") })
	s.mux.HandleFunc("GET /debug/config", s.config)
	s.mux.HandleFunc("GET "+AppHealthPrefix, s.appHealth)
	if opts.Decisions != nil {
		s.mux.Handle("GET /debug/decisions", opts.Decisions)
	} else {
		s.mux.HandleFunc("GET /debug/decisions", func(w http.ResponseWriter, _ *http.Request) {
			write(w, http.StatusNotFound, NoRingMessage+"\n")
		})
	}
	return s, nil
}

// Handler returns the admin routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Run serves on Options.Listen until ctx ends, then shuts down within a second.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	// Requests end with ctx, so that followers of /debug/decisions do not hold
	// the shutdown.
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	for _, c := range s.opts.Ready {
		if err := c.Check(); err != nil {
			write(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: %s: %v\n", c.Name, err))
			return
		}
	}
	body := "ready\n"
	for _, c := range s.opts.Ready {
		if c.Detail != nil {
			body += c.Name + ": " + c.Detail() + "\n"
		}
	}
	write(w, http.StatusOK, body)
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.opts.Config)
}

func (s *Server) appHealth(w http.ResponseWriter, r *http.Request) {
	p, ok := s.probes[r.URL.Path]
	if !ok {
		write(w, http.StatusNotFound, "no such app probe\n")
		return
	}
	if err := s.prober.run(r.Context(), p); err != nil {
		s.opts.Logger.Info("app probe failed", "probe", r.URL.Path, "err", err)
		write(w, http.StatusInternalServerError, "probe failed: "+err.Error()+"\n")
		return
	}
	write(w, http.StatusOK, "ok\n")
}

func write(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

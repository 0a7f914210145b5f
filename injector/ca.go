package injector

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Authority signs for the cluster CA. identity.CA implements it; cmd/rampart-injector
// passes it in, because injector imports nothing of ours.
type Authority interface {
	// IssueForKey signs pub into an X509-SVID whose only SAN is the workload ID id,
	// valid for ttl, never a CA; it returns the chain, leaf first.
	IssueForKey(pub crypto.PublicKey, id string, ttl time.Duration) ([]*x509.Certificate, error)
	// ServingCertificate issues the CA endpoint's own TLS certificate for hosts.
	ServingCertificate(hosts []string, ttl time.Duration) (*tls.Certificate, error)
	// Roots are the trust domain's roots (the bundle proxies get).
	Roots() []*x509.Certificate
	// TrustDomainName is the trust domain the CA signs for.
	TrustDomainName() string
}

// Defaults of CAOptions.
const (
	DefaultCAPort = 15012
	// DefaultSVIDTTL is the lifetime of a CA-issued SVID. Proxies renew at half-life,
	// so a CA outage shorter than 6 h goes unnoticed; there is no revocation, so a
	// leaked key stops working within 12 h.
	DefaultSVIDTTL = 12 * time.Hour
	// DefaultMaxCSRBytes bounds a request body: a CSR with an RSA-4096 key is under
	// 2 KiB of PEM.
	DefaultMaxCSRBytes = 16 << 10
)

// CAOptions configure the cluster CA's HTTPS server.
type CAOptions struct {
	// Addr is the listen address for RunCA. Default ":15012".
	Addr string
	// Authority signs. Required.
	Authority Authority
	// Kube reviews tokens (TokenReview). Required.
	Kube kubernetes.Interface
	// Hosts are the names in the serving certificate. Default the injector
	// Service's names in InstallNamespace.
	Hosts []string
	// SVIDTTL is the lifetime of issued SVIDs. Default DefaultSVIDTTL.
	SVIDTTL time.Duration
	// MaxCSRBytes bounds a request body (413 beyond). Default DefaultMaxCSRBytes.
	MaxCSRBytes int64
	// RateEvery and RateBurst bound requests per identity: a burst of RateBurst, then
	// one per RateEvery (429 beyond), counted per token (one pod) before the
	// TokenReview and per service account after it. Defaults 1s and 20: a
	// Deployment's replicas starting together share one service account.
	RateEvery time.Duration
	RateBurst int
	// MaxInFlight bounds concurrent requests (TokenReviews reach the API server);
	// beyond it the CA answers 503. Default 64.
	MaxInFlight int
	// Registerer, when set, gets the CA metrics.
	Registerer prometheus.Registerer
	// Logger receives refusals (warn) and issued SVIDs (info). Default: discard.
	Logger *slog.Logger
}

func (o *CAOptions) setDefaults() {
	if o.Addr == "" {
		o.Addr = fmt.Sprintf(":%d", DefaultCAPort)
	}
	if len(o.Hosts) == 0 {
		host := InjectorName + "." + InstallNamespace + ".svc"
		o.Hosts = []string{host, host + ".cluster.local"}
	}
	if o.SVIDTTL == 0 {
		o.SVIDTTL = DefaultSVIDTTL
	}
	if o.MaxCSRBytes <= 0 {
		o.MaxCSRBytes = DefaultMaxCSRBytes
	}
	if o.RateEvery == 0 {
		o.RateEvery = time.Second
	}
	if o.RateBurst == 0 {
		o.RateBurst = 20
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// RunCA listens on opts.Addr and serves the CA until ctx is done.
func RunCA(ctx context.Context, opts CAOptions) error {
	opts.setDefaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("cluster CA: listen: %w", err)
	}
	return ServeCA(ctx, ln, opts)
}

// ServeCA serves CASignPath over TLS on ln until ctx is done, then shuts down. The
// serving certificate comes from the Authority, so proxies verify the CA with the
// same bundle they verify peers with. It closes ln.
func ServeCA(ctx context.Context, ln net.Listener, opts CAOptions) error {
	opts.setDefaults()
	h, err := NewCAHandler(opts)
	if err != nil {
		ln.Close()
		return err
	}
	certs := &servingCerts{auth: opts.Authority, hosts: opts.Hosts}
	if _, err := certs.get(nil); err != nil {
		ln.Close()
		return fmt.Errorf("cluster CA: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(CASignPath, h)
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get, NextProtos: []string{"h2", "http/1.1"}},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	if err := serveUntilDone(ctx, srv, tls.NewListener(ln, srv.TLSConfig)); err != nil {
		return fmt.Errorf("cluster CA: serve: %w", err)
	}
	return nil
}

// Client-side limits of the CA's API client. client-go's defaults (5 requests/s,
// burst 10) would make TokenReviews the CA's bottleneck: 50 pods starting at once
// waited 5 s each. The API server's own priority and fairness still applies.
const (
	CAKubeQPS   = 200
	CAKubeBurst = 400
)

// TuneCAClient sets the CA's client-side request limits on cfg.
func TuneCAClient(cfg *rest.Config) *rest.Config {
	cfg.QPS, cfg.Burst = CAKubeQPS, CAKubeBurst
	return cfg
}

package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// WorkloadOptions configure a WorkloadSource.
type WorkloadOptions struct {
	// Socket is the Workload API address: "unix:///run/spire/agent.sock", a plain
	// absolute path, or "tcp://127.0.0.1:port". Empty means $SPIFFE_ENDPOINT_SOCKET.
	Socket string
	// Timeout bounds the wait for the first SVID (30s when 0); the agent answers
	// "no identity issued" until a registration entry reaches it.
	Timeout time.Duration
	// Metrics, when set, records SVID expiry and rotations.
	Metrics *Metrics
	// Logger receives updates (slog.Default() when nil).
	Logger *slog.Logger
}

// WorkloadSource serves the SVID and bundles that the SPIRE agent streams over the
// Workload API. When the agent goes away it keeps the last SVID it received.
type WorkloadSource struct {
	*workloadapi.X509Source
	metrics *Metrics
	logger  *slog.Logger
	done    chan struct{}
	stop    context.CancelFunc
}

// NewWorkloadSource connects to the Workload API and waits for the first SVID.
func NewWorkloadSource(ctx context.Context, opts WorkloadOptions) (*WorkloadSource, error) {
	addr, err := workloadAddr(opts.Socket)
	if err != nil {
		return nil, fmt.Errorf("workload API: %w", err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	wait, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(wait, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("workload API at %s: no SVID within %s: %w", addr, opts.Timeout, err)
	}
	watchCtx, stop := context.WithCancel(context.Background())
	s := &WorkloadSource{X509Source: src, metrics: opts.Metrics, logger: opts.Logger, done: make(chan struct{}), stop: stop}
	go s.watch(watchCtx)
	return s, nil
}

// Close stops watching and disconnects from the agent.
func (s *WorkloadSource) Close() error {
	s.stop()
	<-s.done
	return s.X509Source.Close()
}

// watch records every SVID the agent pushes; a push with the same leaf (a bundle
// change) is not a rotation.
func (s *WorkloadSource) watch(ctx context.Context) {
	defer close(s.done)
	var last *x509svid.SVID
	for {
		if svid, err := s.GetX509SVID(); err == nil && (last == nil || !svid.Certificates[0].Equal(last.Certificates[0])) {
			s.metrics.svidUpdated("workloadapi", svid, last != nil)
			s.logger.Debug("SVID from workload API", "spiffe_id", svid.ID.String(), "not_after", svid.Certificates[0].NotAfter)
			last = svid
		}
		select {
		case <-ctx.Done():
			return
		case <-s.Updated():
		}
	}
}

// GetX509BundleForTrustDomain marks a missing bundle as ErrWrongTrustDomain so
// refusals are classified the same as with the built-in sources.
func (s *WorkloadSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	b, err := s.X509Source.GetX509BundleForTrustDomain(td)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrongTrustDomain, err)
	}
	return b, nil
}

// workloadAddr resolves the socket address and, for unix sockets, checks the socket
// exists now: otherwise the client would retry silently until the timeout.
func workloadAddr(socket string) (string, error) {
	if socket == "" {
		env, ok := workloadapi.GetDefaultAddress()
		if !ok || env == "" {
			return "", fmt.Errorf("no socket given and %s is not set", workloadapi.SocketEnv)
		}
		socket = env
	}
	if strings.HasPrefix(socket, "/") {
		socket = "unix://" + socket
	}
	if _, err := workloadapi.TargetFromAddress(socket); err != nil {
		return "", fmt.Errorf("socket %q: %w", socket, err)
	}
	u, _ := url.Parse(socket)
	if u.Scheme == "unix" {
		if err := checkSocket(u.Path); err != nil {
			return "", err
		}
	}
	return socket, nil
}

func checkSocket(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("socket %s does not exist (is the SPIRE agent running?)", path)
	case err != nil:
		return fmt.Errorf("socket %s: %w", path, err)
	case fi.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("%s is not a unix socket", path)
	}
	return nil
}

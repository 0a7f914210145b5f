package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
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
	// ID, when set, picks the SVID with this SPIFFE ID out of several the agent may
	// hold for the workload (one per matching registration entry), and the source
	// waits for it; otherwise the agent's first SVID is used.
	ID spiffeid.ID
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
	src     *workloadapi.X509Source
	metrics *Metrics
	logger  *slog.Logger
	done    chan struct{}
	stop    context.CancelFunc

	mu      sync.Mutex
	changed chan struct{}
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
	src, err := workloadapi.NewX509Source(wait, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)),
		workloadapi.WithDefaultX509SVIDPicker(picker(opts.ID)))
	if err == nil {
		err = waitForSVID(wait, src)
	}
	if err != nil {
		if src != nil {
			src.Close()
		}
		return nil, fmt.Errorf("workload API at %s: no SVID %s within %s: %w", addr, opts.ID, opts.Timeout, err)
	}
	watchCtx, stop := context.WithCancel(context.Background())
	s := &WorkloadSource{src: src, metrics: opts.Metrics, logger: opts.Logger, done: make(chan struct{}), stop: stop, changed: make(chan struct{})}
	go s.watch(watchCtx)
	return s, nil
}

// Close stops watching and disconnects from the agent.
func (s *WorkloadSource) Close() error {
	s.stop()
	<-s.done
	return s.src.Close()
}

// GetX509SVID returns the current SVID (the last one received if the agent is gone).
func (s *WorkloadSource) GetX509SVID() (*x509svid.SVID, error) {
	svid, err := s.src.GetX509SVID()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSVID, err)
	}
	return svid, nil
}

// Changed returns a channel closed at the next update from the agent.
func (s *WorkloadSource) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *WorkloadSource) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
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
		case <-s.src.Updated():
			s.notify()
		}
	}
}

func picker(id spiffeid.ID) func([]*x509svid.SVID) *x509svid.SVID {
	return func(svids []*x509svid.SVID) *x509svid.SVID {
		for _, s := range svids {
			if id.IsZero() || s.ID == id {
				return s
			}
		}
		return nil // not (yet) issued: GetX509SVID fails closed
	}
}

// waitForSVID waits until the picker finds its SVID: entries reach the agent one
// sync at a time, so the first update may lack the one we want.
func waitForSVID(ctx context.Context, src *workloadapi.X509Source) error {
	for {
		updated := src.Updated()
		if _, err := src.GetX509SVID(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-updated:
		}
	}
}

// GetX509BundleForTrustDomain marks a missing bundle as ErrWrongTrustDomain so
// refusals are classified the same as with the built-in sources.
func (s *WorkloadSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	b, err := s.src.GetX509BundleForTrustDomain(td)
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

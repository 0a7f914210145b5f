package injector

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// caHandler answers CSRs: decode, TokenReview, per-identity limit, sign. Every
// refusal goes through one path (refused) that counts and logs it.
type caHandler struct {
	auth     Authority
	kube     kubernetes.Interface
	ttl      time.Duration
	maxBytes int64
	limit    *identityLimiter // per service account, after the TokenReview
	perToken *identityLimiter // per token (one pod), before it: a flood costs the API server nothing
	inFlight chan struct{}
	metrics  *caMetrics
	log      *slog.Logger
	bundle   string
}

// maxIdentities bounds the rate limiter's memory; a cluster with more service
// accounts asking at once shares an overflow bucket.
const maxIdentities = 10000

// NewCAHandler returns the http.Handler of CASignPath (ServeCA mounts it).
func NewCAHandler(opts CAOptions) (http.Handler, error) {
	opts.setDefaults()
	if opts.Authority == nil || opts.Kube == nil {
		return nil, errors.New("cluster CA: Authority and Kube are required")
	}
	m, err := newCAMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &caHandler{
		auth: opts.Authority, kube: opts.Kube, ttl: opts.SVIDTTL, maxBytes: opts.MaxCSRBytes,
		limit:    newIdentityLimiter(opts.RateEvery, opts.RateBurst, maxIdentities),
		perToken: newIdentityLimiter(opts.RateEvery, opts.RateBurst, maxIdentities),
		inFlight: make(chan struct{}, opts.MaxInFlight),
		metrics:  m, log: opts.Logger, bundle: string(RootsPEM(opts.Authority)),
	}, nil
}

// RootsPEM returns the Authority's roots as PEM (the CA bundle).
func RootsPEM(a Authority) []byte {
	var out []byte
	for _, c := range a.Roots() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func (h *caHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		w.Header().Set("Retry-After", "1")
		h.refused(w, r, "", refuse(http.StatusServiceUnavailable, reasonBusy, "too many requests in flight"))
		return
	}
	ans, wl, err := h.sign(w, r)
	if err != nil {
		h.refused(w, r, wl, err)
		return
	}
	h.metrics.signed(time.Since(start))
	h.log.Info("issued SVID", "spiffe_id", ans.SPIFFEID, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// sign runs the steps of one request; wl names the identity once it is known.
func (h *caHandler) sign(w http.ResponseWriter, r *http.Request) (signResponse, string, error) {
	if r.Method != http.MethodPost {
		return signResponse{}, "", refuse(http.StatusMethodNotAllowed, reasonMethod, "method %s, want POST", r.Method)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
			return signResponse{}, "", refuse(http.StatusRequestEntityTooLarge, reasonTooLarge, "body larger than %d bytes", h.maxBytes)
		}
		return signResponse{}, "", refuse(http.StatusBadRequest, reasonMalformedCSR, "read body: %v", err)
	}
	req, err := DecodeSignRequest(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
	if err != nil {
		return signResponse{}, "", err
	}
	sum := sha256.Sum256([]byte(req.Token)) // the key only; the token is never kept
	if !h.perToken.allow(string(sum[:]), time.Now()) {
		w.Header().Set("Retry-After", "1")
		return signResponse{}, "", refuse(http.StatusTooManyRequests, reasonRateLimited, "too many CSRs with one token")
	}
	wl, err := reviewToken(r.Context(), h.kube, req.Token)
	if err != nil {
		return signResponse{}, "", err
	}
	if !h.limit.allow(wl.String(), time.Now()) {
		w.Header().Set("Retry-After", "1")
		return signResponse{}, wl.String(), refuse(http.StatusTooManyRequests, reasonRateLimited, "too many CSRs for %s", wl)
	}
	id := wl.spiffeID(h.auth.TrustDomainName())
	chain, err := h.auth.IssueForKey(req.CSR.PublicKey, id, h.ttl)
	if err != nil {
		return signResponse{}, wl.String(), refuse(http.StatusInternalServerError, reasonSignFailed, "%v", err)
	}
	var pemChain []byte
	for _, c := range chain {
		pemChain = append(pemChain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return signResponse{SPIFFEID: id, CertChain: string(pemChain), Bundle: h.bundle}, wl.String(), nil
}

// refused counts, logs (never the token) and answers a refusal.
func (h *caHandler) refused(w http.ResponseWriter, r *http.Request, wl string, err error) {
	var ref *refusal
	if !errors.As(err, &ref) {
		ref = refuse(http.StatusInternalServerError, reasonSignFailed, "%v", err)
	}
	h.metrics.count(ref.reason)
	h.log.Warn("CSR refused", "reason", ref.reason, "status", ref.status, "workload", wl, "remote", r.RemoteAddr, "err", ref.msg)
	http.Error(w, ref.Error(), ref.status)
}

// signResponse is identity.SignResponse, restated (see CASignPath).
type signResponse struct {
	SPIFFEID  string `json:"spiffe_id"`
	CertChain string `json:"cert_chain"`
	Bundle    string `json:"bundle"`
}

// servingCerts hands out the CA endpoint's certificate, re-issuing it at half-life.
type servingCerts struct {
	auth  Authority
	hosts []string
	mu    sync.Mutex
	cur   *tls.Certificate
}

// servingTTL is the lifetime of the CA endpoint's own certificate.
const servingTTL = 24 * time.Hour

func (s *servingCerts) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && time.Until(s.cur.Leaf.NotAfter) > servingTTL/2 {
		return s.cur, nil
	}
	c, err := s.auth.ServingCertificate(s.hosts, servingTTL)
	if err != nil {
		if s.cur != nil && time.Now().Before(s.cur.Leaf.NotAfter) {
			return s.cur, nil // keep serving; try again on the next handshake
		}
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	s.cur = c
	return c, nil
}

package admin

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// prober runs original app probes against the app on localhost. The proxy runs
// as uid 1337, whose connections are never captured, so the probe reaches the app
// as kubelet's would have.
type prober struct {
	http *http.Client // HTTP/1.1 probes; redirects are not followed past the host
	h2c  *http2.Transport
}

func newProber() *prober {
	return &prober{
		http: &http.Client{Transport: &http.Transport{
			DisableKeepAlives: true,
			// Kubelet does not verify app certificates either.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // matches kubelet probes
		}},
		h2c: &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}},
	}
}

func (p *prober) run(ctx context.Context, pr Probe) error {
	timeout := time.Duration(pr.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second // kubelet's default
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.HTTPGet != nil:
		return p.httpGet(ctx, pr.HTTPGet)
	case pr.TCPSocket != nil:
		return tcpConnect(ctx, hostPort(pr.TCPSocket.Host, int(pr.TCPSocket.Port)))
	case pr.GRPC != nil:
		return p.grpcHealth(ctx, pr.GRPC)
	}
	return fmt.Errorf("probe has no handler")
}

func hostPort(host string, port int) string {
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (p *prober) httpGet(ctx context.Context, g *HTTPGet) error {
	scheme := strings.ToLower(g.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: hostPort(g.Host, int(g.Port)), Path: g.Path}
	if path, query, ok := strings.Cut(g.Path, "?"); ok {
		u.Path, u.RawQuery = path, query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	req.Header.Set("User-Agent", "kube-probe/rampart")
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 { // kubelet's success range
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func tcpConnect(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// grpcHealth calls grpc.health.v1.Health/Check over h2c, encoded by hand: the
// request and the answer are one short protobuf field each, not worth a gRPC
// dependency in the proxy.
func (p *prober) grpcHealth(ctx context.Context, g *GRPC) error {
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	msg := append([]byte{0x0a, byte(len(service))}, service...) // field 1, string
	if len(service) == 0 {
		msg = nil
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	u := "http://" + hostPort("", int(g.Port)) + "/grpc.health.v1.Health/Check"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(frame)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := p.h2c.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return err
	}
	if st := resp.Trailer.Get("Grpc-Status") + resp.Header.Get("Grpc-Status"); st != "0" {
		return fmt.Errorf("grpc-status %q", st)
	}
	// Response: 5-byte prefix, then field 1 (varint status); SERVING is 1.
	if len(body) < 7 || body[5] != 0x08 || body[6] != 1 {
		return fmt.Errorf("not serving")
	}
	return nil
}

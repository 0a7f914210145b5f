package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// Mode is a meshed pod's inbound mode for plaintext (non-mTLS) connections.
type Mode string

const (
	Strict     Mode = "STRICT"     // refused
	Permissive Mode = "PERMISSIVE" // authorized as an unauthenticated peer
)

// ProxyOptions configure a pod's proxy.
type ProxyOptions struct {
	Mode Mode // default Strict
	// Bundle is the policy: a bundle folder or .tar.gz (re-read when it changes,
	// if the proxy can), or an http:// URL of a bundle service it polls (see
	// LiveBundle).
	Bundle string
	// Extra are more rampart-proxy flags (the egress gateway's, for one).
	Extra []string
}

// BundlePoll is how often proxies look for a new bundle (when the proxy lets the
// interval be set): a swap takes effect within about this long.
const BundlePoll = time.Second

// Proxy is a pod's running rampart-proxy and its capture.
type Proxy struct {
	Opts        ProxyOptions
	DecisionLog string // file receiving the proxy's decision log
	proc        *Proc
	capture     *redirect.Handle
	svidDir     string // the pod's SVID files (issueSVIDs)
}

// proxyUID is the proxy's uid; capture never redirects it (DESIGN.md contract).
const proxyUID = redirect.ProxyUID

// Mesh attaches capture to the pod, starts its proxy as uid 1337 in the pod's
// proxy cgroup, and registers the proxy's inbound listener with capture. Start
// the pod's apps after Mesh: a socket opened before capture is not captured.
func (p *Pod) Mesh(opts ProxyOptions) error {
	if opts.Mode == "" {
		opts.Mode = Strict
	}
	if p.env.opts.ProxyBinary == "" {
		return errors.New("demo: no rampart-proxy binary (EnvOptions.ProxyBinary)")
	}
	h, err := p.attach(opts.Mode)
	if err != nil {
		return err
	}
	px := &Proxy{Opts: opts, DecisionLog: p.env.Path(p.Name + "-decisions.log"), capture: h}
	p.env.OnClose(func() error { return h.Close() })
	if px.svidDir, err = p.issueSVIDs(); err != nil {
		return err
	}
	if err := p.startProxy(px); err != nil {
		return err
	}
	p.mu.Lock()
	p.proxy = px
	p.mu.Unlock()
	return nil
}

func (p *Pod) attach(mode Mode) (*redirect.Handle, error) {
	proxyCg, err := redirect.CgroupID(p.ProxyCgroup)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", p.Name, err)
	}
	m := redirect.ModeStrict
	if mode == Permissive {
		m = redirect.ModePermissive
	}
	h, err := redirect.Attach(redirect.Options{
		Name: p.Name, PinRoot: p.env.PinRoot, CgroupPath: p.Cgroup, NetNSPath: netpod.NSPath(p.NetNS),
		PodIPs: []netip.Addr{p.IP}, ProxyCgroupID: proxyCg, Mode: m,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: capture %s: %w", p.Name, err)
	}
	return h, nil
}

// startProxy runs rampart-proxy for the pod and waits until its listeners are up.
func (p *Pod) startProxy(px *Proxy) error {
	if err := touchOwned(px.DecisionLog, proxyUID); err != nil {
		return err
	}
	argv := append([]string{p.env.opts.ProxyBinary}, p.proxyArgs(px)...)
	proc, err := p.env.Start(netpod.ProcSpec{Name: p.Name + "-proxy", NetNS: netpod.NSPath(p.NetNS),
		Cgroup: p.ProxyCgroup, UID: proxyUID, Argv: argv})
	if err != nil {
		return err
	}
	px.proc = proc
	return p.awaitProxy(px)
}

func (p *Pod) proxyArgs(px *Proxy) []string {
	e := p.env
	args := []string{
		"--listen-plaintext", fmt.Sprintf(":%d", redirect.InboundPort),
		"--listen-hbone", fmt.Sprintf(":%d", redirect.TunnelPort),
		"--mode", string(px.Opts.Mode),
		"--labels", joinLabels(p.Labels),
		"--workloads", e.Path(workloadsFile),
		"--svid-dir", px.svidDir,
		"--trust-domain", TrustDomain,
		"--namespace", p.Namespace,
		"--service-account", p.ServiceAccount,
		"--decision-log", px.DecisionLog,
	}
	if strings.HasPrefix(px.Opts.Bundle, "http://") {
		args = append(args, "--bundle-url", px.Opts.Bundle, "--bundle-poll", BundlePoll.String())
	} else {
		args = append(args, "--bundle", px.Opts.Bundle, "--bundle-reload", BundlePoll.String())
	}
	for _, f := range podFlags() {
		args = append(args, "--"+f.name, f.value(p))
	}
	if e.egressResolver != "" {
		args = append(args, "--egress-resolver", e.egressResolver)
	}
	return append(args, px.Opts.Extra...)
}

// awaitProxy waits until the proxy listens on its inbound ports, then points
// inbound capture at its plaintext listener, as the node agent does.
func (p *Pod) awaitProxy(px *Proxy) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, port := range proxyPorts {
		for {
			f, err := redirect.FindListener(p.ProxyCgroup, port)
			if err == nil {
				if port == redirect.InboundPort {
					err = px.capture.SetInboundListener(f)
				}
				f.Close()
				if err != nil {
					return fmt.Errorf("demo: %s: register inbound listener: %w", p.Name, err)
				}
				break
			}
			if !errors.Is(err, redirect.ErrNoListener) || time.Now().After(deadline) {
				return fmt.Errorf("demo: %s proxy not listening on %d: %v; its log: %s", p.Name, port, err, px.proc.LogTail())
			}
			if err := px.pause(p.env.Context(), p.Name); err != nil {
				return err
			}
		}
	}
	return p.awaitReady(px, deadline)
}

// awaitReady waits for the proxy's /healthz/ready (SVID and policy loaded), so
// that no request of the scenario meets a proxy still fetching its bundle.
func (p *Pod) awaitReady(px *Proxy, deadline time.Time) error {
	c := &http.Client{Timeout: time.Second,
		Transport: &http.Transport{DialContext: p.env.HubDialer(), DisableKeepAlives: true}}
	url := fmt.Sprintf("http://%s:%d/healthz/ready", p.IP, redirect.AdminPort)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if err := px.pause(p.env.Context(), p.Name); err != nil {
			return err
		}
	}
	return fmt.Errorf("demo: %s proxy not ready (%s); its log: %s", p.Name, last, px.proc.LogTail())
}

// pause waits a moment between readiness checks, failing at once when the proxy
// exited or the Env's context ended.
func (px *Proxy) pause(ctx context.Context, pod string) error {
	select {
	case <-px.proc.Done():
		return fmt.Errorf("demo: %s proxy exited; its log: %s", pod, px.proc.LogTail())
	case <-ctx.Done():
		return fmt.Errorf("demo: %s proxy: %w", pod, ctx.Err())
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}

// CaptureStats returns the pod's eBPF capture counters.
func (px *Proxy) CaptureStats() (redirect.Stats, error) { return px.capture.Stats() }

func joinLabels(l map[string]string) string {
	kv := make([]string, 0, len(l))
	for k, v := range l {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// touchOwned creates an empty file owned by uid, so the unprivileged proxy can
// write it.
func touchOwned(path string, uid int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	f.Close()
	return os.Chown(path, uid, uid)
}

package demo

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// redirectListen is the capture listener of a pod redirected by iptables: REDIRECT
// of a locally generated connection sends it to 127.0.0.1.
var redirectListen = fmt.Sprintf("127.0.0.1:%d", redirect.OutboundPort)

// redirectPod is the outside check of the proxy's egress contract: it starts the
// pod's rampart-proxy (uid 1337, in the pod's proxy cgroup) with exactly
//
//	rampart-proxy --bundle PATH --listen-outbound 127.0.0.1:15001
//
// plus the identity flags (SVID folder, trust domain, namespace, service account,
// labels) and the decision log and egress resolver, then installs the rules
// Istio's init container would: in the pod's nat OUTPUT chain, TCP of the proxy's
// uid and to loopback returns, all other TCP is REDIRECTed to the listener. No eBPF
// program is attached; the proxy learns each destination from SO_ORIGINAL_DST,
// which conntrack answers.
func (p *Pod) redirectPod(opts ProxyOptions) error {
	e := p.env
	if e.opts.ProxyBinary == "" {
		return errors.New("demo: no rampart-proxy binary (EnvOptions.ProxyBinary)")
	}
	svidDir, err := p.issueSVIDs()
	if err != nil {
		return err
	}
	log := e.Path(p.Name + "-decisions.log")
	if err := touchOwned(log, proxyUID); err != nil {
		return err
	}
	argv := []string{e.opts.ProxyBinary,
		"--bundle", opts.Bundle,
		"--listen-outbound", redirectListen,
		"--svid-dir", svidDir,
		"--trust-domain", TrustDomain,
		"--namespace", p.Namespace,
		"--service-account", p.ServiceAccount,
		"--labels", joinLabels(p.Labels),
		"--decision-log", log,
	}
	if e.egressResolver != "" {
		argv = append(argv, "--egress-resolver", e.egressResolver)
	}
	proc, err := e.Start(netpod.ProcSpec{Name: p.Name + "-proxy", NetNS: netpod.NSPath(p.NetNS),
		Cgroup: p.ProxyCgroup, UID: proxyUID, Argv: argv})
	if err != nil {
		return err
	}
	// The bundle is loaded before the proxy listens: once it listens it decides.
	for deadline := time.Now().Add(20 * time.Second); ; {
		f, err := redirect.FindListener(p.ProxyCgroup, redirect.OutboundPort)
		if err == nil {
			f.Close()
			break
		}
		if !errors.Is(err, redirect.ErrNoListener) || time.Now().After(deadline) {
			return fmt.Errorf("demo: %s proxy not listening on %s: %v; its log: %s", p.Name, redirectListen, err, proc.LogTail())
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("demo: %s proxy exited; its log: %s", p.Name, proc.LogTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return p.iptables(
		[]string{"-p", "tcp", "-m", "owner", "--uid-owner", strconv.Itoa(proxyUID), "-j", "RETURN"},
		[]string{"-p", "tcp", "-d", "127.0.0.1/32", "-j", "RETURN"},
		[]string{"-p", "tcp", "-j", "REDIRECT", "--to-ports", strconv.Itoa(redirect.OutboundPort)},
	)
}

// iptables appends rules to the pod's nat OUTPUT chain, in order.
func (p *Pod) iptables(rules ...[]string) error {
	for _, r := range rules {
		args := append([]string{"--net=" + netpod.NSPath(p.NetNS), "--", netpod.LookTool("iptables"), "-w", "-t", "nat", "-A", "OUTPUT"}, r...)
		if err := netpod.Run(netpod.LookTool("nsenter"), args...); err != nil {
			return fmt.Errorf("demo: %s: %w", p.Name, err)
		}
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
)

// options combines the parsed settings into sidecar.Options: what is left to
// check is how settings go together (the values were checked when set).
func (s *settings) options() (sidecar.Options, func(), error) {
	var o sidecar.Options
	noop := func() {}
	o.Policy.Bundle, o.Policy.Decision, o.Policy.RequestBodyBytes = s.Bundle, s.Decision, s.RequestBody
	o.Policy.ShadowBundle, o.Policy.DecisionRingBytes = s.ShadowBundle, s.DecisionRing
	if s.BundleURL != "" {
		if !strings.HasPrefix(s.BundleURL, "http://") && !strings.HasPrefix(s.BundleURL, "https://") {
			return o, noop, fmt.Errorf("--bundle-url %q: want an http(s) URL", s.BundleURL)
		}
		o.Policy.Bundle = s.BundleURL
	}
	o.Policy.PollInterval = s.BundlePoll
	o.Policy.AllowMissing = s.inPod // the injector's bundle ConfigMap is optional
	o.Policy.ReloadInterval = s.BundleReload
	if s.BundleReload == 0 {
		o.Policy.ReloadInterval = -1 // the flag says never; 0 in Options means the default
	}
	o.Identity = sidecar.IdentityOptions{SVIDDir: s.SVIDDir, CADir: s.CADir, WorkloadAPI: s.WorkloadAPI,
		TrustDomain: s.TrustDomain, Namespace: s.Namespace, ServiceAccount: s.ServiceAccount,
		CAAddr: s.CAAddr, CATokenFile: s.CAToken}
	var err error
	if o.Identity.CABundle, err = s.caBundleBytes(); err != nil {
		return o, noop, err
	}
	s.inbound(&o)
	s.outbound(&o)
	if err := s.egress(&o); err != nil {
		return o, noop, err
	}
	if err := s.discovery(&o); err != nil {
		return o, noop, err
	}
	return s.decisionLog(o)
}

func (s *settings) inbound(o *sidecar.Options) {
	in := &o.Inbound
	in.PlaintextAddr, in.HBONEAddr, in.Upstream, in.WorkloadsFile = s.Plaintext, s.HBONE, s.Upstream, s.Workloads
	in.Mode = modeOf(s.Mode, s.HBONE != "")
	in.PodIPs, in.Labels = s.PodIPs, s.Labels
	if len(in.PodIPs) == 0 && s.PodIP.IsValid() {
		in.PodIPs = []netip.Addr{s.PodIP}
	}
	in.Tuning.HTTP.Slashes, _ = sidecar.ParseSlashRule(s.Slashes) // one of its words
	in.Tuning.StreamBodies = s.StreamBodies
	in.Tuning.Limits.MaxConnections = s.MaxConns
	in.Tuning.Limits.MaxConnectionsPerAddress = s.MaxPerAddress
	in.Tuning.Limits.MaxConnectionsPerIdentity = s.MaxPerIdentity
	in.Tuning.Limits.MemoryPressure = s.MemoryPressure
}

func (s *settings) outbound(o *sidecar.Options) {
	o.Outbound.CaptureAddr, o.Outbound.RegistryFile, o.Outbound.Routes = s.Capture, s.Registry, s.Routes
	o.Outbound.Tuning.ConnectTimeout, o.DrainTimeout = s.ConnectTimeout, s.DrainTimeout
	o.Admin.Addr, o.Admin.AppProbes = s.Admin, s.AppProbes
	o.Capture.ExcludeInboundPorts, o.Capture.ExcludeOutboundPorts = s.ExcludeInPorts, s.ExcludeOutPorts
	o.Capture.ExcludeOutboundCIDRs = s.ExcludeOutCIDRs
}

// discovery fills o.Discovery; it reads the kubeconfig or the in-cluster token
// now, so a proxy that cannot reach the API server says why at start.
func (s *settings) discovery(o *sidecar.Options) error {
	switch s.Discovery {
	case "file":
		if s.DiscoveryNS != "" {
			return fmt.Errorf("--discovery-namespace needs --discovery kube")
		}
		return nil
	case "node":
		if s.DiscoveryNS != "" || o.Outbound.RegistryFile != "" {
			return fmt.Errorf("--discovery node takes neither --discovery-namespace nor --registry: the agent decides what the pod sees")
		}
		o.Discovery.NodeSocket = s.DiscoverySocket
		return nil
	}
	if o.Outbound.RegistryFile != "" {
		return fmt.Errorf("--registry is for --discovery file; with --discovery kube the API server is the registry")
	}
	cfg, err := s.kubeConfig()
	if err != nil {
		return fmt.Errorf("--discovery kube: %w", err)
	}
	o.Discovery.Kube, o.Discovery.Namespace = cfg, s.DiscoveryNS
	return nil
}

// kubeConfig reads --kubeconfig when given, else the in-cluster config; unlike
// kubectl it never falls back to ~/.kube/config, so a sidecar cannot pick up a
// stray admin credential.
func (s *settings) kubeConfig() (*rest.Config, error) {
	if s.Kubeconfig == "" {
		return kube.InCluster()
	}
	if strings.ContainsRune(s.Kubeconfig, os.PathListSeparator) {
		return nil, fmt.Errorf("kubeconfig %q names several files; pass one", s.Kubeconfig)
	}
	return kube.LoadKubeconfig(s.Kubeconfig)
}

// caBundleBytes reads --ca-bundle: the PEM itself (as the injector passes it in
// $RAMPART_CA_BUNDLE) or a file holding it. It is required with --ca-addr: the
// proxy trusts the CA's answer only over a connection verified against these roots.
func (s *settings) caBundleBytes() ([]byte, error) {
	v := s.CABundle
	switch {
	case s.CAAddr == "" || s.SVIDDir != "" || s.CADir != "": // the cluster CA is not the source
		return nil, nil
	case v == "":
		return nil, errors.New("--ca-addr needs --ca-bundle (the cluster CA's PEM roots)")
	case strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN"):
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("--ca-bundle: %w", err)
	}
	return b, nil
}

// decisionLog opens --decision-log; the returned func closes it.
func (s *settings) decisionLog(o sidecar.Options) (sidecar.Options, func(), error) {
	switch s.DecisionLog {
	case "":
		return o, func() {}, nil
	case "-":
		o.Policy.DecisionLog = os.Stdout
		return o, func() {}, nil
	}
	f, err := os.OpenFile(s.DecisionLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return o, func() {}, fmt.Errorf("decision log: %w", err)
	}
	o.Policy.DecisionLog = f
	return o, func() { f.Close() }, nil
}

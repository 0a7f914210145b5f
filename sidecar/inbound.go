package sidecar

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// newInbound fills the inbound server's options from opts.
func newInbound(opts *Options, authz inbound.Authorizer, src identity.Source) (*inbound.Server, error) {
	io := opts.Inbound
	t := io.Tuning
	t.Authorizer = authz
	t.Logger = opts.Logger
	t.Registerer = opts.Registerer
	t.Mode = io.Mode
	t.Upstream = io.Upstream
	t.LocalLabels = io.Labels
	t.PodIPs = io.PodIPs
	t.Workloads = io.Workloads
	if t.Workloads == nil && io.WorkloadsFile != "" {
		w, err := inbound.LoadWorkloads(io.WorkloadsFile)
		if err != nil {
			return nil, fmt.Errorf("sidecar: %w", err)
		}
		t.Workloads = w
	}
	if src != nil {
		svid, err := src.GetX509SVID()
		if err != nil {
			return nil, fmt.Errorf("sidecar: svid: %w", err)
		}
		td, err := spiffeid.TrustDomainFromString(opts.Identity.TrustDomain)
		if err != nil {
			return nil, fmt.Errorf("sidecar: trust domain: %w", err)
		}
		t.LocalID = svid.ID.String()
		t.TLS = identity.ServerConfig(src, td, identity.TLSOptions{})
	}
	s, err := inbound.New(t)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	return s, nil
}

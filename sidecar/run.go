package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// Run starts the configured listeners and serves until ctx ends. It returns nil
// after a clean shutdown and the first error that stopped a listener otherwise.
func Run(ctx context.Context, opts Options) error {
	opts.setDefaults()
	ring, err := decisionRing(&opts)
	if err != nil {
		return fmt.Errorf("sidecar: decision ring: %w", err)
	}
	if opts.Policy.Bundle == "" && opts.Policy.Authorizer == nil && !opts.Inbound.listens() {
		// A client-only proxy decides nothing; should it ever be asked, it denies.
		opts.Policy.Authorizer = denyAll
	}
	authz, engine, err := authorizer(ctx, &opts)
	if err != nil {
		return err
	}
	defer keepBundleFresh(ctx, engine, &opts)()
	src, closeSrc, err := svidSource(ctx, &opts)
	if err != nil {
		return err
	}
	defer closeSrc()
	res, err := resolver(ctx, &opts)
	if err != nil {
		return err
	}
	if res != nil && opts.Inbound.Workloads == nil && opts.Inbound.WorkloadsFile == "" {
		opts.Inbound.Workloads = resolverWorkloads{res}
	}
	if res != nil {
		fillSelfLabels(ctx, &opts, resolverWorkloads{res})
	}
	if err := gatewayServer(&opts, engine, src); err != nil {
		return err
	}
	in, err := newInbound(&opts, authz, src)
	if err != nil {
		return err
	}
	defer in.Close()
	var servers []serveFunc
	if a := opts.Inbound.PlaintextAddr; a != "" {
		servers = append(servers, serveFunc{"plaintext " + a, a, in.ServePlaintext, false})
	}
	if a := opts.Inbound.HBONEAddr; a != "" {
		if src == nil {
			return errors.New("sidecar: HBONE listener needs an identity (--svid-dir, --ca-dir, --ca-addr or --workload-api)")
		}
		servers = append(servers, serveFunc{"hbone " + a, a, in.ServeHBONE, false})
	}
	outs, err := newOutbound(&opts, res, src, engine)
	if err != nil {
		return err
	}
	adm, err := newAdmin(&opts, authz, src, res, ring)
	if err != nil {
		return err
	}
	servers = append(append(servers, outs...), adm...)
	if len(servers) == 0 {
		return errors.New("sidecar: no listener configured")
	}
	return serveAll(ctx, opts, servers)
}

// denyAll is the authorizer of a proxy without inbound listeners.
var denyAll = inbound.AuthorizerFunc(func(context.Context, *rego.Input) rego.Decision {
	return rego.Decision{Reason: "no policy: this proxy has no inbound listener"}
})

// listens reports whether any inbound listener is configured.
func (o InboundOptions) listens() bool { return o.PlaintextAddr != "" || o.HBONEAddr != "" }

// serveFunc is one listener and what serves it.
type serveFunc struct {
	name, addr string
	serve      func(context.Context, net.Listener) error
	// local: the listener's peers are this pod's apps (outbound), so TCP
	// keep-alive probes find nothing a closed socket would not, and setting them
	// up cost four setsockopt calls per accepted connection.
	local bool
}

// serveAll listens on every address first (so a taken port fails fast), then
// serves all until ctx ends or one fails, which stops the others.
func serveAll(ctx context.Context, opts Options, servers []serveFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lns := make([]net.Listener, 0, len(servers))
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, s := range servers {
		ln, err := listen(ctx, s.addr, s.local)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		opts.Logger.Info("listening", "listener", s.name, "addr", ln.Addr().String())
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- wrap(s.name, s.serve(ctx, lns[i])) }()
	}
	var first error
	for range servers {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sidecar: %s: %w", name, err)
}

// listen opens a TCP listener without MPTCP: the eBPF sockhash accelerator refuses
// MPTCP sockets, and nothing here gains from it. A local listener's connections
// get no TCP keep-alive.
func listen(ctx context.Context, addr string, local bool) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	if local {
		lc.KeepAlive = -1
	}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sidecar: listen %s: %w", addr, err)
	}
	return ln, nil
}

// svidSource builds the identity source, or returns nil when none is configured.
func svidSource(ctx context.Context, opts *Options) (identity.Source, func(), error) {
	id := opts.Identity
	noop := func() {}
	switch {
	case id.Source != nil:
		return id.Source, noop, nil
	case id.SVIDDir != "":
		return fileSource(id, opts.Logger)
	case id.CADir != "":
		return caSource(id)
	case id.CAAddr != "":
		return clusterCASource(ctx, id, opts.Logger)
	case id.WorkloadAPI != "":
		src, err := identity.NewWorkloadSource(ctx, identity.WorkloadOptions{Socket: id.WorkloadAPI, Logger: opts.Logger})
		if err != nil {
			return nil, noop, fmt.Errorf("sidecar: workload API: %w", err)
		}
		return src, func() { src.Close() }, nil
	}
	return nil, noop, nil
}

func caSource(id IdentityOptions) (identity.Source, func(), error) {
	noop := func() {}
	ca, err := identity.LoadCA(id.CADir)
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: %w", err)
	}
	td, err := spiffeid.TrustDomainFromString(id.TrustDomain)
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: trust domain: %w", err)
	}
	wid, err := identity.NewWorkloadID(td, id.Namespace, id.ServiceAccount)
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: workload id: %w", err)
	}
	src, err := identity.NewRotatingSource(ca, wid, identity.RotatingOptions{})
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: svid: %w", err)
	}
	return src, func() { src.Close() }, nil
}

// clusterCASource gets the SVID from Rampart's cluster CA, refusing an answer for
// any ID but this workload's.
func clusterCASource(ctx context.Context, id IdentityOptions, log *slog.Logger) (identity.Source, func(), error) {
	noop := func() {}
	td, err := spiffeid.TrustDomainFromString(id.TrustDomain)
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: trust domain: %w", err)
	}
	wid, err := identity.NewWorkloadID(td, id.Namespace, id.ServiceAccount)
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: workload id: %w", err)
	}
	src, err := identity.NewCAClientSource(ctx, identity.CAClientOptions{URL: id.CAAddr, TokenFile: id.CATokenFile,
		Bundle: id.CABundle, TrustDomain: td, ID: wid, Logger: log})
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: %w", err)
	}
	return src, func() { src.Close() }, nil
}

// fileSource reads the SVID from files and checks it belongs to this mesh, so a
// wrong mount fails at start rather than in every handshake.
func fileSource(id IdentityOptions, log *slog.Logger) (identity.Source, func(), error) {
	noop := func() {}
	src, err := identity.NewFileSource(identity.FileOptions{Dir: id.SVIDDir, Logger: log})
	if err != nil {
		return nil, noop, fmt.Errorf("sidecar: svid dir: %w", err)
	}
	svid, err := src.GetX509SVID()
	if err == nil && svid.ID.TrustDomain().Name() != id.TrustDomain {
		err = fmt.Errorf("SVID %s is not in trust domain %q", svid.ID, id.TrustDomain)
	}
	if err != nil {
		src.Close()
		return nil, noop, fmt.Errorf("sidecar: svid dir %s: %w", id.SVIDDir, err)
	}
	return src, func() { src.Close() }, nil
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
)

// caOptions are the flags of the cluster CA beyond injector.CAFlags.
type caOptions struct {
	injector.CAFlags
	kubeconfig  string
	metricsAddr string
}

// startCA loads (or creates) the CA root from its Secret, hands its bundle to the
// webhook's Config (so injected proxies trust it) and returns the CA server to run.
func startCA(ctx context.Context, o caOptions, opts *injector.ServerOptions) (func(context.Context) error, error) {
	kube, err := kubeClient(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	td, err := spiffeid.TrustDomainFromString(opts.Config.WithDefaults().TrustDomain)
	if err != nil {
		return nil, fmt.Errorf("trust domain: %w", err)
	}
	auth, err := injector.LoadOrCreateCA(ctx, kube, injector.CASecretOptions{
		Namespace: o.Namespace, Name: o.Secret, Load: loadAuthority, Generate: generateRoot(td)})
	if err != nil {
		return nil, err
	}
	if auth.TrustDomainName() != td.Name() {
		return nil, fmt.Errorf("CA secret is for trust domain %q, the injector for %q", auth.TrustDomainName(), td.Name())
	}
	opts.Config.CA.Bundle = string(injector.RootsPEM(auth))
	if o.RootsConfigMap != "" {
		if err := injector.PublishRoots(ctx, kube, o.Namespace, o.RootsConfigMap, injector.RootsPEM(auth)); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	ca := injector.CAOptions{Addr: o.Listen, Authority: auth, Kube: kube, Hosts: o.HostList(),
		SVIDTTL: o.SVIDTTL, Registerer: reg, Logger: opts.Logger}
	return func(ctx context.Context) error {
		if o.metricsAddr != "" {
			go serveMetrics(ctx, o.metricsAddr, reg)
		}
		return injector.RunCA(ctx, ca)
	}, nil
}

// loadAuthority is injector.CASecretOptions.Load: identity.CA is the Authority.
func loadAuthority(certPEM, keyPEM []byte) (injector.Authority, error) {
	ca, err := identity.ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return ca, nil
}

func generateRoot(td spiffeid.TrustDomain) func() ([]byte, []byte, error) {
	return func() ([]byte, []byte, error) {
		ca, err := identity.NewCA(td, 0)
		if err != nil {
			return nil, nil, err
		}
		return ca.MarshalPEM()
	}
}

func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return kubernetes.NewForConfig(injector.TuneCAClient(cfg))
}

func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	_ = srv.ListenAndServe()
}

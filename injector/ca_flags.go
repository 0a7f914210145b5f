package injector

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// CAFlags are the cluster CA's rampart-injector flags. The binary binds them and
// InstallManifests renders them (caArgs), so the two cannot drift apart.
type CAFlags struct {
	// Enabled runs the CA next to the webhook. Default true.
	Enabled bool
	// Listen is the CA's HTTPS address. Default ":15012".
	Listen string
	// Namespace and Secret locate the CA's root and key (LoadOrCreateCA).
	Namespace, Secret string
	// Hosts are the serving certificate's names, comma-separated.
	Hosts string
	// SVIDTTL is the lifetime of issued SVIDs.
	SVIDTTL time.Duration
	// RootsConfigMap, when set, names a ConfigMap in Namespace the CA keeps its
	// PEM roots in (PublishRoots), for proxies the webhook does not inject (the
	// egress gateway). Default: none.
	RootsConfigMap string
}

// BindFlags registers f's fields on fs with their defaults.
func (f *CAFlags) BindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&f.Enabled, "ca", true, "serve the cluster CA (proxies' SVIDs from service-account tokens)")
	fs.StringVar(&f.Listen, "ca-listen", fmt.Sprintf(":%d", DefaultCAPort), "cluster CA HTTPS listen address")
	fs.StringVar(&f.Namespace, "ca-namespace", InstallNamespace, "namespace of the CA Secret")
	fs.StringVar(&f.Secret, "ca-secret", CASecretName, "CA Secret (ca.crt, ca.key), created with a new root when absent")
	fs.StringVar(&f.Hosts, "ca-hosts", strings.Join(caHosts(InstallOptions{Namespace: InstallNamespace}), ","), "names in the CA's serving certificate, comma-separated")
	fs.DurationVar(&f.SVIDTTL, "svid-ttl", DefaultSVIDTTL, "lifetime of issued SVIDs (at most 24h)")
	fs.StringVar(&f.RootsConfigMap, "ca-roots-configmap", "", "ConfigMap in --ca-namespace to publish the CA's PEM roots in (key "+CARootsKey+"), for proxies that are not injected; empty: none")
}

// HostList splits Hosts.
func (f CAFlags) HostList() []string { return splitList(f.Hosts) }

package main

import (
	"flag"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/injector"
)

// newInstallCmd prints every manifest that installs Rampart on a cluster
// (`rampart install | kubectl apply -f -`).
func newInstallCmd() *cobra.Command {
	var opts injector.InstallOptions
	cmd := &cobra.Command{
		Use:   "install",
		Short: "print the manifests that install Rampart on a cluster",
		Long: "Prints the rampart-system namespace, the injector (Deployment, Service, PDB, " +
			"serving certificate), the rampart-node DaemonSet with its RBAC, and the " +
			"MutatingWebhookConfiguration, as YAML for kubectl apply. The serving " +
			"certificate is generated on every run unless --cert-manager is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := injector.InstallManifests(opts)
			if err != nil {
				return err
			}
			if err := injector.WriteYAML(cmd.OutOrStdout(), objs); err != nil {
				return fmt.Errorf("install: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Namespace, "namespace", injector.InstallNamespace, "namespace of the injector and node agent")
	f.StringVar(&opts.Registry, "registry", injector.DefaultRegistry, "registry (and path) of every image: <registry>/rampart-{proxy,injector,node}:<tag>")
	f.StringVar(&opts.Tag, "tag", version.Tag(), "tag of every image (default: this binary's version)")
	f.StringVar(&opts.InjectorImage, "injector-image", "", "rampart-injector image (wins over --registry/--tag)")
	f.StringVar(&opts.NodeImage, "node-image", "", "rampart-node image (wins over --registry/--tag)")
	f.Int32Var(&opts.Replicas, "replicas", 2, "injector replicas")
	f.Int32Var(&opts.TimeoutSeconds, "webhook-timeout", 10, "webhook call timeout in seconds (1-30)")
	f.BoolVar(&opts.ProxyKubeDiscovery, "proxy-kube-discovery", false, "also bind ClusterRole rampart-proxy (list/watch pods, services, endpointslices) to every service account, for proxies run with --discovery kube without rampart-node")
	f.StringVar(&opts.DiscoveryNamespaces, "discovery-namespaces", "", `namespaces whose services and workload identities (namespace, service account, labels) every proxy sees besides its own, comma-separated ("*": all), for calls across namespaces; default: its own only`)
	f.BoolVar(&opts.EgressGateway, "egress-gateway", false, "also run the egress gateway (Deployment and Service "+injector.GatewayName+", rampart-proxy --serve-egress-gateway) and send injected pods' connections to --egress-gateway-hosts through it over HBONE")
	f.BoolVar(&opts.CertManager, "cert-manager", false, "let cert-manager issue and rotate the webhook certificate")
	f.DurationVar(&opts.SVIDTTL, "svid-ttl", injector.DefaultSVIDTTL, "lifetime of the SVIDs the cluster CA issues (at most 24h)")
	addConfigFlags(cmd, &opts.Config)
	return cmd
}

// addConfigFlags adds the proxy configuration flags shared with rampart-injector.
func addConfigFlags(cmd *cobra.Command, cfg *injector.Config) {
	gofs := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	cfg.BindFlags(gofs)
	cmd.Flags().AddGoFlagSet(gofs)
}

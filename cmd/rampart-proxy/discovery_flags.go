package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
	"github.com/rampart-mesh/rampart/sidecar/discovery/node"
)

// discoveryConfig holds the service-discovery flags.
type discoveryConfig struct {
	mode, kubeconfig, namespace, socket string
}

func (c *discoveryConfig) register(fs *flag.FlagSet) {
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(def, env), usage+" ($"+env+")")
	}
	str(&c.mode, "discovery", "RAMPART_DISCOVERY", "file", "where service endpoints and peer labels come from: file (the --registry file, if any), node (rampart-node's socket; the default of injected pods) or kube (the Kubernetes API server itself, for proxies outside a node with rampart-node; needs the RBAC of rampart install --proxy-kube-discovery)")
	str(&c.kubeconfig, "kubeconfig", "RAMPART_KUBECONFIG", envOr("", "KUBECONFIG"), "kubeconfig for --discovery kube (or $KUBECONFIG); unset: the pod's service-account token (in-cluster)")
	str(&c.socket, "discovery-socket", "RAMPART_DISCOVERY_SOCKET", node.DefaultSocket, "with --discovery node, rampart-node's discovery socket")
	str(&c.namespace, "discovery-namespace", "RAMPART_DISCOVERY_NAMESPACE", "", "with --discovery kube, watch only this namespace (default: all)")
}

// apply validates the flags into o.Discovery; it reads the kubeconfig or the
// in-cluster token now, so a proxy that cannot reach the API server says why at
// start.
func (c *discoveryConfig) apply(o *sidecar.Options) error {
	switch c.mode {
	case "file":
		if c.namespace != "" {
			return fmt.Errorf("--discovery-namespace needs --discovery kube")
		}
		return nil
	case "node":
		if c.namespace != "" || o.Outbound.RegistryFile != "" {
			return fmt.Errorf("--discovery node takes neither --discovery-namespace nor --registry: the agent decides what the pod sees")
		}
		o.Discovery.NodeSocket = c.socket
		return nil
	case "kube":
	default:
		return fmt.Errorf("--discovery / $RAMPART_DISCOVERY %q: want file, node or kube", c.mode)
	}
	if o.Outbound.RegistryFile != "" {
		return fmt.Errorf("--registry is for --discovery file; with --discovery kube the API server is the registry")
	}
	cfg, err := c.kubeConfig()
	if err != nil {
		return fmt.Errorf("--discovery kube: %w", err)
	}
	o.Discovery.Kube, o.Discovery.Namespace = cfg, c.namespace
	return nil
}

// kubeConfig reads --kubeconfig when given, else the in-cluster config; unlike
// kubectl it never falls back to ~/.kube/config, so a sidecar cannot pick up a
// stray admin credential.
func (c *discoveryConfig) kubeConfig() (*rest.Config, error) {
	if c.kubeconfig == "" {
		return kube.InCluster()
	}
	if strings.ContainsRune(c.kubeconfig, os.PathListSeparator) {
		return nil, fmt.Errorf("kubeconfig %q names several files; pass one", c.kubeconfig)
	}
	return kube.LoadKubeconfig(c.kubeconfig)
}

package kube

import (
	"errors"
	"fmt"
	"net/url"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// InCluster is the config of a process running in a pod (client-go's
// rest.InClusterConfig: the API server from $KUBERNETES_SERVICE_HOST/PORT, the CA
// and the service-account token from /var/run/secrets/kubernetes.io/serviceaccount;
// the token file is re-read as it rotates).
func InCluster() (*rest.Config, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w (not in a pod? pass a kubeconfig)", err)
	}
	if err := checkConfig(cfg); err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	return cfg, nil
}

// LoadKubeconfig reads the current context of the kubeconfig file at path with
// client-go's clientcmd (relative file names are relative to the file's folder,
// as kubectl reads them). Unlike kubectl it refuses what checkConfig refuses, and
// reads the certificates and keys it names now, so a bad file fails at start.
func LoadKubeconfig(path string) (*rest.Config, error) {
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if err := clientcmd.ResolveLocalPaths(raw); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if err := checkCurrent(raw); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, raw.CurrentContext, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if err := checkConfig(cfg); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if _, err := rest.TLSConfigFor(cfg); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// checkCurrent applies checkConfig's refusals to the current context before
// clientcmd reads it, so that the error says what is refused rather than what
// clientcmd would need (e.g. an interactive mode for an exec plugin).
func checkCurrent(raw *clientcmdapi.Config) error {
	cur := raw.Contexts[raw.CurrentContext]
	if cur == nil {
		return fmt.Errorf("current-context %q not found", raw.CurrentContext)
	}
	cfg := &rest.Config{}
	if c := raw.Clusters[cur.Cluster]; c != nil {
		cfg.Host, cfg.Insecure = c.Server, c.InsecureSkipTLSVerify
	}
	if u := raw.AuthInfos[cur.AuthInfo]; u != nil {
		cfg.ExecProvider, cfg.AuthProvider = u.Exec, u.AuthProvider
	}
	return checkConfig(cfg)
}

// checkConfig refuses configs a sidecar must not use. The proxy believes what the
// API server says about identities and labels, so the server is verified over
// TLS, never skipped. Exec credential plugins (which clientcmd supports) are
// refused: they would have the proxy in every meshed pod run a command a file
// names, and they carry a person's or a cloud account's credentials rather
// than the pod's own service-account token. Auth-provider plugins are refused
// because none is linked in.
func checkConfig(cfg *rest.Config) error {
	u, err := url.Parse(cfg.Host)
	switch {
	case err != nil:
		return fmt.Errorf("api server %q: %w", cfg.Host, err)
	case u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("api server %q: want an https URL", cfg.Host)
	case cfg.Insecure:
		return errors.New("insecure-skip-tls-verify is refused: the proxy trusts the API server's word on identities")
	case cfg.ExecProvider != nil:
		return errors.New("exec plugins are refused (the proxy would run a command in every pod, with someone else's credentials); use a token, a token file or a client certificate")
	case cfg.AuthProvider != nil:
		return fmt.Errorf("auth provider %q is refused (none is linked in); use a token, a token file or a client certificate", cfg.AuthProvider.Name)
	}
	return nil
}

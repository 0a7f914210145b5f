package kube

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// kubeconfig is the part of a kubeconfig file LoadKubeconfig reads. []byte
// fields are the base64 "-data" variants.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
	Clusters []struct {
		Name    string      `json:"name"`
		Cluster kubeCluster `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string   `json:"name"`
		User kubeUser `json:"user"`
	} `json:"users"`
}

type kubeCluster struct {
	Server     string `json:"server"`
	CA         string `json:"certificate-authority"`
	CAData     []byte `json:"certificate-authority-data"`
	ServerName string `json:"tls-server-name"`
	Insecure   bool   `json:"insecure-skip-tls-verify"`
}

type kubeUser struct {
	Token        string          `json:"token"`
	TokenFile    string          `json:"tokenFile"`
	Cert         string          `json:"client-certificate"`
	CertData     []byte          `json:"client-certificate-data"`
	Key          string          `json:"client-key"`
	KeyData      []byte          `json:"client-key-data"`
	Exec         json.RawMessage `json:"exec"`
	AuthProvider json.RawMessage `json:"auth-provider"`
}

// LoadKubeconfig reads the current context of the kubeconfig file at path.
// Relative file names in it are relative to the file's folder, as kubectl reads
// them. Exec plugins, auth providers and insecure-skip-tls-verify are refused.
func LoadKubeconfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, err := ParseKubeconfig(data, filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// ParseKubeconfig reads kubeconfig YAML; dir resolves relative file names.
func ParseKubeconfig(data []byte, dir string) (Config, error) {
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return Config{}, fmt.Errorf("parse: %w", err)
	}
	cluster, user, err := kc.current()
	if err != nil {
		return Config{}, err
	}
	tc, err := cluster.tls(dir)
	if err != nil {
		return Config{}, err
	}
	if err := user.addTo(tc, dir); err != nil {
		return Config{}, err
	}
	cfg := Config{Host: cluster.Server, TLS: tc, Token: user.Token, TokenFile: abs(dir, user.TokenFile)}
	if _, err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (kc *kubeconfig) current() (kubeCluster, kubeUser, error) {
	if kc.CurrentContext == "" {
		return kubeCluster{}, kubeUser{}, fmt.Errorf("no current-context")
	}
	for _, c := range kc.Contexts {
		if c.Name != kc.CurrentContext {
			continue
		}
		var cl *kubeCluster
		for i := range kc.Clusters {
			if kc.Clusters[i].Name == c.Context.Cluster {
				cl = &kc.Clusters[i].Cluster
			}
		}
		if cl == nil {
			return kubeCluster{}, kubeUser{}, fmt.Errorf("context %q: cluster %q not found", c.Name, c.Context.Cluster)
		}
		for _, u := range kc.Users {
			if u.Name == c.Context.User {
				return *cl, u.User, nil
			}
		}
		return *cl, kubeUser{}, nil // anonymous
	}
	return kubeCluster{}, kubeUser{}, fmt.Errorf("current-context %q not found", kc.CurrentContext)
}

func (c kubeCluster) tls(dir string) (*tls.Config, error) {
	if c.Insecure {
		return nil, fmt.Errorf("cluster %s: insecure-skip-tls-verify is not supported", c.Server)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CA == "" && len(c.CAData) == 0 {
		return tc, nil // system roots
	}
	pool, err := loadPool(abs(dir, c.CA), c.CAData)
	if err != nil {
		return nil, err
	}
	tc.RootCAs = pool
	return tc, nil
}

func (u kubeUser) addTo(tc *tls.Config, dir string) error {
	if len(u.Exec) > 0 && string(u.Exec) != "null" || len(u.AuthProvider) > 0 && string(u.AuthProvider) != "null" {
		return fmt.Errorf("user: exec plugins and auth providers are not supported; use a token or a client certificate")
	}
	if u.Cert == "" && len(u.CertData) == 0 {
		return nil
	}
	certPEM, keyPEM := u.CertData, u.KeyData
	var err error
	if len(certPEM) == 0 {
		if certPEM, err = os.ReadFile(abs(dir, u.Cert)); err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
	}
	if len(keyPEM) == 0 {
		if keyPEM, err = os.ReadFile(abs(dir, u.Key)); err != nil {
			return fmt.Errorf("client key: %w", err)
		}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	tc.Certificates = []tls.Certificate{pair}
	return nil
}

func abs(dir, name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

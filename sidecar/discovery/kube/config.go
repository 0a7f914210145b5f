package kube

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
)

// Config says how to reach and authenticate to the API server.
type Config struct {
	// Host is the API server's https URL ("https://10.0.0.1:443"). Required.
	Host string
	// TLS verifies the server (RootCAs) and may carry a client certificate.
	// Required: the proxy trusts what the API server says about identities.
	TLS *tls.Config
	// Token is a bearer token. TokenFile, when set, wins and is re-read for every
	// list and watch, because projected service-account tokens rotate.
	Token, TokenFile string
}

// ServiceAccountDir is where Kubernetes mounts a pod's service-account token and
// the cluster CA.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InCluster is the config of a process running in a pod: the API server from
// $KUBERNETES_SERVICE_HOST/PORT, the CA and token from ServiceAccountDir.
func InCluster() (Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return Config{}, errors.New("in-cluster config: $KUBERNETES_SERVICE_HOST/PORT not set (not in a pod? pass a kubeconfig)")
	}
	pool, err := loadPool(filepath.Join(ServiceAccountDir, "ca.crt"), nil)
	if err != nil {
		return Config{}, fmt.Errorf("in-cluster config: %w", err)
	}
	token := filepath.Join(ServiceAccountDir, "token")
	if _, err := os.Stat(token); err != nil {
		return Config{}, fmt.Errorf("in-cluster config: service-account token: %w (is a token mounted into the proxy container?)", err)
	}
	return Config{Host: "https://" + net.JoinHostPort(host, port),
		TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, TokenFile: token}, nil
}

// validate checks what every request relies on.
func (c Config) validate() (*url.URL, error) {
	u, err := url.Parse(c.Host)
	if err != nil {
		return nil, fmt.Errorf("api server %q: %w", c.Host, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("api server %q: want an https URL", c.Host)
	}
	if c.TLS == nil {
		return nil, fmt.Errorf("api server %q: no TLS config", c.Host)
	}
	return u, nil
}

// loadPool reads PEM certificates from data, or from file when data is empty.
func loadPool(file string, data []byte) (*x509.CertPool, error) {
	if len(data) == 0 {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA %s: no PEM certificate", file)
	}
	return pool, nil
}

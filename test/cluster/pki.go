package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// pki is the cluster's certificate authority and where it writes files.
type pki struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// certLife is long enough for any run; the CA dies with the run folder.
const certLife = 7 * 24 * time.Hour

func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rampart-cluster-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(certLife),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &pki{dir: dir, cert: cert, key: key}
	if err := p.writePair("ca", der, key); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// leaf describes one certificate the CA issues.
type leaf struct {
	name   string // file stem
	cn     string
	orgs   []string
	ips    []net.IP
	dns    []string
	server bool
}

// issue writes <name>.crt and <name>.key signed by the CA.
func (p *pki) issue(l leaf) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if l.server {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: l.cn, Organization: l.orgs},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(certLife),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage, IPAddresses: l.ips, DNSNames: l.dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		return fmt.Errorf("cluster: issue %s: %w", l.name, err)
	}
	return p.writePair(l.name, der, key)
}

func (p *pki) writePair(name string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.path(name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(p.path(name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}

// serviceAccountKeys writes sa.key and sa.pub, the token signing pair.
func (p *pki) serviceAccountKeys() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pb, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.path("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(p.path("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), 0o644)
}

// kubeconfig writes <name>.kubeconfig for the client certificate <name>.
func (p *pki) kubeconfig(name, server string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["rampart"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: p.path("ca.crt")}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificate: p.path(name + ".crt"), ClientKey: p.path(name + ".key")}
	cfg.Contexts["rampart"] = &clientcmdapi.Context{Cluster: "rampart", AuthInfo: name}
	cfg.CurrentContext = "rampart"
	out := p.path(name + ".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		return "", fmt.Errorf("cluster: kubeconfig %s: %w", name, err)
	}
	return out, nil
}

// clientCerts are the identities of the components and the admin. The
// apiserver's Node authorizer and the bootstrap RBAC roles know every one of
// these names; coredns gets a ClusterRole applied at start.
func clientCerts() []leaf {
	return []leaf{
		{name: "admin", cn: "kubernetes-admin", orgs: []string{"system:masters"}},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}},
		{name: "controller-manager", cn: "system:kube-controller-manager"},
		{name: "scheduler", cn: "system:kube-scheduler"},
		{name: "kubelet", cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}},
		{name: "kube-proxy", cn: "system:kube-proxy"},
		{name: "coredns", cn: "system:coredns"},
	}
}

// writePKI issues everything the cluster needs and returns the CA.
func writePKI(dir string, a addrs) (*pki, error) {
	p, err := newPKI(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster: pki: %w", err)
	}
	node := net.IP(a.Node.AsSlice())
	serving := []leaf{
		{name: "apiserver", cn: "kube-apiserver", server: true,
			ips: []net.IP{node, net.ParseIP(kubeSvcIP), net.ParseIP("127.0.0.1")},
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + clusterDom}},
		{name: "kubelet-serving", cn: nodeName, server: true, ips: []net.IP{node}, dns: []string{nodeName}},
	}
	for _, l := range append(serving, clientCerts()...) {
		if err := p.issue(l); err != nil {
			return nil, err
		}
	}
	server := fmt.Sprintf("https://%s:%d", a.Node, apiPort)
	for _, l := range clientCerts() {
		if l.name == "apiserver-kubelet-client" {
			continue
		}
		if _, err := p.kubeconfig(l.name, server); err != nil {
			return nil, err
		}
	}
	return p, p.serviceAccountKeys()
}

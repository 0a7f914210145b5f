package cluster

import (
	"fmt"
	"path/filepath"
)

// node is what the component starters share.
type node struct {
	l        layout
	s        state
	t        tools
	p        *procs
	pause    string // sandbox image reference
	registry string // loopback registry host:port
}

func (n *node) nodeIP() string { return n.s.addrs().Node.String() }

func (n *node) startEtcd() error {
	return n.p.start("etcd", true, nil, n.t.etcd,
		"--name="+nodeName, "--data-dir="+n.l.path("etcd"),
		"--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster="+nodeName+"=http://127.0.0.1:2380",
		"--unsafe-no-fsync", "--log-level=warn")
}

func (n *node) startAPIServer() error {
	pki := n.l.pki
	return n.p.start("kube-apiserver", true, nil, n.t.apiserver,
		"--etcd-servers=http://127.0.0.1:2379",
		"--bind-address="+n.nodeIP(), "--advertise-address="+n.nodeIP(), fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority="+pki("ca.crt"),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc."+clusterDom,
		"--service-account-key-file="+pki("sa.pub"), "--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
		"--allow-privileged=true", "--profiling=false",
		"--cert-dir="+n.l.path("apiserver"))
}

func (n *node) startControllerManager() error {
	pki := n.l.pki
	kc := pki("controller-manager.kubeconfig")
	return n.p.start("kube-controller-manager", true, nil, n.t.controllerManager,
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--bind-address=127.0.0.1", "--cert-dir="+n.l.path("controller-manager"),
		"--service-account-private-key-file="+pki("sa.key"), "--root-ca-file="+pki("ca.crt"),
		"--use-service-account-credentials=true",
		"--cluster-signing-cert-file="+pki("ca.crt"), "--cluster-signing-key-file="+pki("ca.key"),
		"--allocate-node-cidrs=true", "--cluster-cidr="+podCIDR, "--node-cidr-mask-size=24",
		"--service-cluster-ip-range="+serviceCIDR, "--leader-elect=false", "--profiling=false")
}

func (n *node) startScheduler() error {
	kc := n.l.pki("scheduler.kubeconfig")
	return n.p.start("kube-scheduler", true, nil, n.t.scheduler,
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--bind-address=127.0.0.1", "--cert-dir="+n.l.path("scheduler"),
		"--leader-elect=false", "--profiling=false")
}

func (n *node) startContainerd() error {
	registry := n.registry
	cfg := n.l.path("containerd", "config.toml")
	if err := writeFile(cfg, containerdConfig(n.l, n.t, registry, n.pause)); err != nil {
		return err
	}
	if err := writeFile(n.l.path("containerd", "certs.d", registry, "hosts.toml"), hostsTOML(registry)); err != nil {
		return err
	}
	if err := writeFile(n.l.path("cni", "net.d", "10-rampart.conflist"), cniConfig(n.l, n.s)); err != nil {
		return err
	}
	return n.p.start("containerd", true, []string{pathEnv(filepath.Dir(n.t.shim))}, n.t.containerd, "--config="+cfg)
}

func (n *node) startKubelet() error {
	cfg := n.l.path("kubelet.yaml")
	if err := writeFile(cfg, kubeletConfig(n.l, n.s)); err != nil {
		return err
	}
	return n.p.start("kubelet", true, []string{pathEnv()}, n.t.kubelet,
		"--config="+cfg, "--kubeconfig="+n.l.pki("kubelet.kubeconfig"),
		"--root-dir="+n.l.path("kubelet"), "--hostname-override="+nodeName, "--node-ip="+n.nodeIP())
}

func (n *node) startKubeProxy() error {
	cfg := n.l.path("kube-proxy.yaml")
	if err := writeFile(cfg, kubeProxyConfig(n.l, n.s)); err != nil {
		return err
	}
	return n.p.start("kube-proxy", true, []string{pathEnv()}, n.t.proxy, "--config="+cfg)
}

func (n *node) startCoreDNS() error {
	cfg := n.l.path("Corefile")
	if err := writeFile(cfg, corefile(n.l, n.s)); err != nil {
		return err
	}
	return n.p.start("coredns", true, nil, n.t.coredns, "-conf", cfg)
}

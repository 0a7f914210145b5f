package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// layout names the files and folders of one run folder.
type layout struct{ dir string }

func (l layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}
func (l layout) pki(f string) string     { return l.path("pki", f) }
func (l layout) containerdSock() string  { return l.path("containerd", "containerd.sock") }
func (l layout) containerdState() string { return l.path("containerd", "state") }

// writeFile writes body to path, making its folder.
func writeFile(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// containerdConfig is containerd 2.x's config (version 3). Every path is under
// the run folder: root, state, runc's state, the netns pins
// (netns_mounts_under_state_dir), the registry hosts. NRI is off (its socket
// would be /var/run/nri), the sandbox image is the pushed rampart-pause.
// restrict_oom_score_adj: kubelet asks for -998 for sandboxes, and a process
// without CAP_SYS_RESOURCE (this machine's root) may not go below its own score.
func containerdConfig(l layout, t tools, registry, pause string) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins.'io.containerd.internal.v1.opt']
  path = %[5]q

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[6]q
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = %[7]q

[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  enable_cdi = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = %[8]q
        Root = %[9]q
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%[10]q]
    conf_dir = %[11]q

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`, l.path("containerd", "root"), l.containerdState(), l.containerdSock(), l.path("containerd", "ttrpc.sock"),
		l.path("containerd", "opt"), pause, l.path("containerd", "certs.d"), t.runc, l.path("runc"),
		t.cniDir, l.path("cni", "net.d"))
}

// hostsTOML lets containerd pull from the loopback registry over plain HTTP.
func hostsTOML(registry string) string {
	return fmt.Sprintf("server = \"http://%[1]s\"\n\n[host.\"http://%[1]s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", registry)
}

// cniConfig: ptp (one veth per pod, routed, no bridge), host-local addresses
// kept in the run folder, loopback, portmap for hostPorts.
func cniConfig(l layout, s state) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %[1]q,
  "plugins": [
    {"type": "ptp", "ipMasq": false, "mtu": 1500,
     "ipam": {"type": "host-local", "dataDir": %[2]q,
              "ranges": [[{"subnet": %[3]q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, s.Name, l.path("cni", "ipam"), nodePodCIDR)
}

// kubeletConfig: cgroupfs driver on this cgroup v1 hybrid machine
// (failCgroupV1: false), pods under the cluster's own cgroupRoot, eviction
// thresholds that never evict for disk (a developer disk is often nearly full),
// image GC off, CoreDNS on the node address, serving certificate from the
// cluster CA, webhook authn/authz so the apiserver's client cert is checked.
func kubeletConfig(l layout, s state) string {
	node := s.addrs().Node.String()
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%[1]s
cgroupsPerQOS: true
containerRuntimeEndpoint: unix://%[2]s
address: %[3]s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: %[4]s
tlsPrivateKeyFile: %[5]s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[6]s}
authorization:
  mode: Webhook
clusterDomain: %[7]s
clusterDNS: [%[3]s]
resolvConf: ""
failSwapOn: false
podLogsDir: %[8]s
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "0%%"
  nodefs.inodesFree: "0%%"
  imagefs.available: "0%%"
  imagefs.inodesFree: "0%%"
nodeStatusReportFrequency: 10s
nodeStatusUpdateFrequency: 5s
maxPods: 110
`, s.Name, l.containerdSock(), node, l.pki("kubelet-serving.crt"), l.pki("kubelet-serving.key"),
		l.pki("ca.crt"), clusterDom, l.path("pod-logs"))
}

// kubeProxyConfig: iptables mode inside the node netns; conntrack sysctls
// left alone (nf_conntrack_max is host-wide).
func kubeProxyConfig(l layout, s state) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: %[1]s
hostnameOverride: %[2]s
bindAddress: %[3]s
clusterCIDR: %[4]s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, l.pki("kube-proxy.kubeconfig"), nodeName, s.addrs().Node, podCIDR)
}

// corefile serves cluster.local from the API on the node address only; there
// is no upstream to forward to.
func corefile(l layout, s state) string {
	return fmt.Sprintf(`.:53 {
    bind %[1]s
    errors
    ready 127.0.0.1:8181
    kubernetes %[2]s in-addr.arpa {
        kubeconfig %[3]s
        pods insecure
        fallthrough in-addr.arpa
    }
    cache 30
}
`, s.addrs().Node, clusterDom, l.pki("coredns.kubeconfig"))
}

// corednsRBAC grants the system:coredns user what the kubernetes plugin reads.
const corednsRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}
`

// env joins PATH entries for a daemon's environment.
func pathEnv(dirs ...string) string {
	return "PATH=" + strings.Join(append(dirs, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"), ":")
}

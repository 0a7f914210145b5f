package injector

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// nodeRBAC lets the node agent watch pods (to find injected ones on its node and
// attach capture to their cgroup and netns), and pods, services and
// endpointslices cluster-wide for the discovery it serves its node's proxies.
func nodeRBAC(o InstallOptions) []runtime.Object {
	sa := &corev1.ServiceAccount{ObjectMeta: meta(NodeName, o.Namespace, NodeName)}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	role := &rbacv1.ClusterRole{
		ObjectMeta: meta(NodeName, "", NodeName),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	bind := &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(NodeName, "", NodeName),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: NodeName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: NodeName, Namespace: o.Namespace}},
	}
	bind.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
	return []runtime.Object{sa, role, bind}
}

func nodeLabels() map[string]string { return map[string]string{"app.kubernetes.io/name": NodeName} }

// nodeDaemonSet is the only privileged part of Rampart: it loads the eBPF capture
// programs into each injected pod's cgroup and network namespace, so the proxy runs
// with no capabilities at all.
func nodeDaemonSet(o InstallOptions) *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{
		ObjectMeta: meta(NodeName, o.Namespace, NodeName),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: nodeLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: meta("", "", NodeName).Labels},
				Spec:       nodePodSpec(o),
			},
		},
	}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	return d
}

// nodeMetricsPort serves rampart-node's /metrics and the probes below.
const nodeMetricsPort = 9965

// nodeArgs are rampart-node's flags.
func nodeArgs(o InstallOptions) []string {
	args := []string{fmt.Sprintf("--metrics-addr=:%d", nodeMetricsPort),
		"--discovery-socket=" + NodeSocket, "--trust-domain=" + o.Config.TrustDomain}
	if o.DiscoveryNamespaces != "" {
		args = append(args, "--discovery-namespaces="+o.DiscoveryNamespaces)
	}
	return args
}

func nodePodSpec(o InstallOptions) corev1.PodSpec {
	tmpSize := resource.MustParse("1Mi")
	return corev1.PodSpec{
		ServiceAccountName: NodeName,
		// Host PID namespace: pod network namespaces are reached via /proc/<pid>/ns/net
		// of a process in the pod's cgroup (the sandbox's pause process under containerd).
		HostPID:     true,
		Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers: []corev1.Container{{
			Name:  NodeName,
			Image: o.NodeImage,
			Args:  nodeArgs(o),
			Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}},
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: nodeMetricsPort, Protocol: corev1.ProtocolTCP}},
			// Ready once the node's pods are cached and the pods pinned by the previous
			// agent are queued; alive while the process serves.
			ReadinessProbe: nodeProbe("/healthz/ready", 2),
			LivenessProbe:  nodeProbe("/healthz/live", 10),
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			SecurityContext: nodeSecurityContext(),
			VolumeMounts:    nodeMounts(),
		}},
		Volumes: []corev1.Volume{
			hostDir("bpffs", "/sys/fs/bpf", corev1.HostPathDirectoryOrCreate),
			hostDir("cgroup", "/sys/fs/cgroup", corev1.HostPathDirectory),
			hostDir(nodeVolume, NodeSocketDir, corev1.HostPathDirectoryOrCreate),
			// The root is read-only; the agent's only file is the lock it takes
			// when it has to mount bpffs itself.
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				Medium: corev1.StorageMediumMemory, SizeLimit: &tmpSize}}},
		},
	}
}

// nodeSecurityContext: privileged because loading and attaching BPF programs to
// other pods' cgroups and namespaces needs CAP_SYS_ADMIN/CAP_BPF/CAP_NET_ADMIN and
// the bpffs mount must propagate back to the host (Bidirectional needs privileged);
// the agent writes nothing else, so its root file system is read-only.
func nodeSecurityContext() *corev1.SecurityContext {
	yes := true
	return &corev1.SecurityContext{Privileged: &yes, ReadOnlyRootFilesystem: &yes}
}

// nodeMounts: pins live in the host's bpffs so that they outlive the agent, and a
// bpffs the agent has to mount itself must reach the host (Bidirectional: the host's
// /sys/fs/bpf must be a shared mount, as systemd makes it; elsewhere
// `mount --make-shared /sys/fs/bpf`). The host's cgroup tree replaces the runtime's
// own cgroup mount and is bound recursively (containerd binds hostPaths with rbind),
// so on hybrid nodes the cgroup2 hierarchy at /sys/fs/cgroup/unified is visible
// below it; it needs no propagation (nothing is mounted there later).
func nodeMounts() []corev1.VolumeMount {
	bidirectional := corev1.MountPropagationBidirectional
	return []corev1.VolumeMount{
		{Name: "bpffs", MountPath: "/sys/fs/bpf", MountPropagation: &bidirectional},
		{Name: "cgroup", MountPath: "/sys/fs/cgroup", ReadOnly: true},
		{Name: nodeVolume, MountPath: NodeSocketDir},
		{Name: "tmp", MountPath: "/tmp"},
	}
}

func nodeProbe(path string, period int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString("metrics")}},
		PeriodSeconds: period, FailureThreshold: 3, TimeoutSeconds: 2,
	}
}

func hostDir(name, path string, t corev1.HostPathType) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &t}}}
}

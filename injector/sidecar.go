package injector

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// proxyContainer builds the native sidecar: an init container with restartPolicy
// Always, so it starts (and is ready) before the app and stops after it.
func proxyContainer(cfg Config, s settings, probes appProbes) (corev1.Container, error) {
	probeJSON, err := probes.json()
	if err != nil {
		return corev1.Container{}, err
	}
	always := corev1.ContainerRestartPolicyAlways
	c := corev1.Container{
		Name:            ProxyContainerName,
		Image:           s.image,
		ImagePullPolicy: corev1.PullPolicy(cfg.ImagePullPolicy),
		RestartPolicy:   &always,
		Env:             proxyEnv(cfg, s, probeJSON),
		Ports: []corev1.ContainerPort{
			{Name: "rampart-hbone", ContainerPort: TunnelPort, Protocol: corev1.ProtocolTCP},
			{Name: "rampart-admin", ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
		},
		Resources:       s.resources,
		SecurityContext: proxySecurityContext(),
		VolumeMounts:    proxyMounts(cfg, s),
		// The startup probe holds the app containers back until the proxy is ready,
		// so the app's first connections are never refused.
		StartupProbe:             adminProbe("/healthz/ready", 1, 300),
		ReadinessProbe:           adminProbe("/healthz/ready", 5, 3),
		LivenessProbe:            adminProbe("/healthz/live", 10, 3),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	return c, nil
}

func adminProbe(p string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: p, Port: intstr.FromInt32(AdminPort), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 1,
	}
}

func proxySecurityContext() *corev1.SecurityContext {
	uid, gid := int64(ProxyUID), int64(ProxyGID)
	t, f := true, false
	return &corev1.SecurityContext{
		RunAsUser: &uid, RunAsGroup: &gid, RunAsNonRoot: &t,
		ReadOnlyRootFilesystem:   &t,
		AllowPrivilegeEscalation: &f,
		Privileged:               &f,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func proxyEnv(cfg Config, s settings, probeJSON string) []corev1.EnvVar {
	field := func(name, fieldPath string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: fieldPath}}}
	}
	env := []corev1.EnvVar{
		field(EnvPodName, "metadata.name"),
		field(EnvPodNamespace, "metadata.namespace"),
		field(EnvPodIP, "status.podIP"),
		field(EnvServiceAccount, "spec.serviceAccountName"),
		{Name: EnvTrustDomain, Value: cfg.TrustDomain},
		{Name: EnvMode, Value: s.mode},
		{Name: EnvLogLevel, Value: s.logLevel},
		{Name: EnvBundle, Value: bundleLocation(cfg)},
		{Name: EnvDiscovery, Value: DiscoveryNode},
		{Name: EnvDiscoverySocket, Value: NodeSocket},
	}
	if s.shadowBundle != "" {
		env = append(env, corev1.EnvVar{Name: EnvShadowBundle, Value: path.Join(shadowMountPath, shadowKey(cfg))})
	}
	if _, ok := s.resources.Limits[corev1.ResourceMemory]; ok {
		// The proxy keeps its Go heap under 90 % of this and refuses new work
		// near it, rather than being OOM-killed (see rampart-proxy).
		env = append(env, corev1.EnvVar{Name: EnvMemoryLimit, ValueFrom: &corev1.EnvVarSource{
			ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: ProxyContainerName,
				Resource: "limits.memory", Divisor: resource.MustParse("1")}}}) // bytes
	}
	env = append(env, identityEnv(cfg, s)...)
	for _, kv := range [][2]string{
		{EnvExcludeInPorts, s.excludeIn}, {EnvExcludeOutPorts, s.excludeOutPorts},
		{EnvExcludeOutCIDRs, s.excludeOut}, {EnvAppProbes, probeJSON},
		{EnvEgressGateway, cfg.EgressGateway.Addr}, {EnvEgressGatewayID, cfg.EgressGateway.Identity},
		{EnvEgressGatewayHosts, cfg.EgressGateway.Hosts},
	} {
		if kv[1] != "" {
			env = append(env, corev1.EnvVar{Name: kv[0], Value: kv[1]})
		}
	}
	return env
}

func bundleLocation(cfg Config) string {
	if cfg.Bundle.URL != "" {
		return cfg.Bundle.URL
	}
	return path.Join(bundleMountPath, cfg.Bundle.Key)
}

func proxyMounts(cfg Config, s settings) []corev1.VolumeMount {
	m := []corev1.VolumeMount{
		identityMount(s),
		{Name: tmpVolume, MountPath: tmpMountPath},
		{Name: nodeVolume, MountPath: NodeSocketDir, ReadOnly: true},
	}
	if cfg.Bundle.URL == "" {
		m = append(m, corev1.VolumeMount{Name: bundleVolume, MountPath: bundleMountPath, ReadOnly: true})
	}
	if s.shadowBundle != "" {
		m = append(m, corev1.VolumeMount{Name: shadowVolume, MountPath: shadowMountPath, ReadOnly: true})
	}
	return m
}

// proxyVolumes are the pod volumes proxyMounts refers to.
func proxyVolumes(cfg Config, s settings) []corev1.Volume {
	tmpSize := resource.MustParse("16Mi")
	vols := []corev1.Volume{
		identityVolume(cfg, s),
		// The root filesystem is read-only; the proxy gets a small in-memory scratch space.
		{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: corev1.StorageMediumMemory, SizeLimit: &tmpSize}}},
		// rampart-node's discovery socket: the proxy learns services and peers
		// from the agent and holds no API token (the app containers keep theirs).
		// OrCreate: a pod scheduled before the agent starts waits for it.
		hostDir(nodeVolume, NodeSocketDir, corev1.HostPathDirectoryOrCreate),
	}
	if cfg.Bundle.URL == "" {
		optional := true // without it the proxy starts with no policy and denies everything
		vols = append(vols, corev1.Volume{Name: bundleVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: cfg.Bundle.ConfigMap},
				Optional:             &optional,
			}}})
	}
	if s.shadowBundle != "" {
		// Not optional: a pod asked to shadow a bundle waits for its ConfigMap (the
		// kubelet says which is missing) rather than start without it.
		optional := false
		vols = append(vols, corev1.Volume{Name: shadowVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.shadowBundle},
				Optional:             &optional,
			}}})
	}
	return vols
}

// shadowKey is the bundle file inside the shadow ConfigMap: the active bundle's
// key (bundle.tar.gz unless configured), also when the active bundle comes from a URL.
func shadowKey(cfg Config) string {
	if cfg.Bundle.Key != "" {
		return cfg.Bundle.Key
	}
	return "bundle.tar.gz"
}

func spireSource(s SPIREConfig) corev1.VolumeSource {
	if s.CSIDriver != "" {
		ro := true
		return corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: s.CSIDriver, ReadOnly: &ro}}
	}
	dir := corev1.HostPathDirectory
	return corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: s.HostPath, Type: &dir}}
}

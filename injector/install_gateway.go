package injector

import (
	"fmt"
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names of the egress gateway's objects (InstallOptions.EgressGateway).
const (
	GatewayName      = "rampart-egress-gateway"
	CARootsConfigMap = "rampart-ca-roots"
	caRootsMountPath = "/etc/rampart/ca-roots"
	caRootsVolume    = "rampart-ca-roots"
)

// gatewayDefaults points injected proxies at the gateway install renders.
func gatewayDefaults(o *InstallOptions) {
	if !o.EgressGateway {
		return
	}
	g := &o.Config.EgressGateway
	if g.Addr == "" {
		g.Addr = fmt.Sprintf("%s.%s.svc:%d", GatewayName, o.Namespace, TunnelPort)
	}
	if g.Identity == "" {
		td := o.Config.TrustDomain
		if td == "" {
			td = DefaultTrustDomain
		}
		g.Identity = fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", td, o.Namespace, GatewayName)
	}
}

// gatewayObjects are the egress gateway: its ServiceAccount, read access to pods
// (their labels are the source.labels of its decisions), a Deployment of
// rampart-proxy --serve-egress-gateway and the Service pods tunnel to.
func gatewayObjects(o InstallOptions) []runtime.Object {
	if !o.EgressGateway {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta(GatewayName, o.Namespace, GatewayName)}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	role := &rbacv1.ClusterRole{ObjectMeta: meta(GatewayName, "", GatewayName), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
	}}
	role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	bind := &rbacv1.ClusterRoleBinding{ObjectMeta: meta(GatewayName, "", GatewayName),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: GatewayName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: GatewayName, Namespace: o.Namespace}}}
	bind.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
	return []runtime.Object{sa, role, bind, gatewayDeployment(o), gatewayService(o)}
}

func gatewayLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": GatewayName}
}

func gatewayDeployment(o InstallOptions) *appsv1.Deployment {
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: meta(GatewayName, o.Namespace, GatewayName),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: gatewayLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: meta("", "", GatewayName).Labels},
				Spec:       gatewayPodSpec(o),
			},
		},
	}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	return d
}

func gatewayPodSpec(o InstallOptions) corev1.PodSpec {
	c := o.Config
	s := settings{identity: c.Identity}
	env := []corev1.EnvVar{
		{Name: EnvTrustDomain, Value: c.TrustDomain},
		{Name: EnvLogLevel, Value: c.LogLevel},
		{Name: EnvBundle, Value: bundleLocation(c)},
		{Name: EnvDiscovery, Value: "kube"},
	}
	for _, f := range [][2]string{{EnvPodNamespace, "metadata.namespace"}, {EnvServiceAccount, "spec.serviceAccountName"}, {EnvPodIP, "status.podIP"}} {
		env = append(env, corev1.EnvVar{Name: f[0], ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: f[1]}}})
	}
	env = append(env, identityEnv(c, s)...)
	mounts := []corev1.VolumeMount{identityMount(s)}
	vols := []corev1.Volume{identityVolume(c, s)}
	if s.identity == IdentityCA { // not injected: the CA's roots come from the ConfigMap it publishes
		env = append(env, corev1.EnvVar{Name: EnvCABundle, Value: path.Join(caRootsMountPath, CARootsKey)})
		mounts = append(mounts, corev1.VolumeMount{Name: caRootsVolume, MountPath: caRootsMountPath, ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: caRootsVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: CARootsConfigMap}}}})
	}
	if c.Bundle.URL == "" {
		optional := true // without it the gateway has no policy and denies everything
		mounts = append(mounts, corev1.VolumeMount{Name: bundleVolume, MountPath: bundleMountPath, ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: bundleVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: c.Bundle.ConfigMap},
				Optional: &optional}}})
	}
	return corev1.PodSpec{
		ServiceAccountName: GatewayName,
		Containers: []corev1.Container{{
			Name:  GatewayName,
			Image: c.Image,
			Args: []string{"--serve-egress-gateway", fmt.Sprintf("--listen-hbone=:%d", TunnelPort),
				fmt.Sprintf("--listen-admin=:%d", AdminPort)},
			Env:            env,
			Ports:          []corev1.ContainerPort{{Name: "hbone", ContainerPort: TunnelPort, Protocol: corev1.ProtocolTCP}, {Name: "admin", ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP}},
			ReadinessProbe: adminProbe("/healthz/ready", 5, 3),
			LivenessProbe:  adminProbe("/healthz/live", 10, 3),
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			SecurityContext: proxySecurityContext(),
			VolumeMounts:    mounts,
		}},
		Volumes: vols,
	}
}

func gatewayService(o InstallOptions) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: meta(GatewayName, o.Namespace, GatewayName),
		Spec: corev1.ServiceSpec{Selector: gatewayLabels(), Ports: []corev1.ServicePort{{
			Name: "hbone", Port: TunnelPort, TargetPort: intstr.FromString("hbone"), Protocol: corev1.ProtocolTCP}}},
	}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	return s
}

package injector

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	// caRoleName names the RBAC objects of the cluster CA.
	caRoleName = "rampart-ca"
	// caMetricsPort serves the CA's /metrics (plain HTTP; rampart-injector --metrics-addr).
	caMetricsPort = 15014
)

// The CA runs in the injector's Deployment (as istiod's CA runs in istiod): the
// Deployment already runs replicated in rampart-system behind a Service, and a
// second control-plane workload would double the pods, probes and RBAC to audit.
// What the CA adds is listed here: its port, its args, and the two permissions it
// needs — TokenReviews (cluster-wide) and its own Secret (in its namespace).

// caEnabled reports whether the install runs the cluster CA (proxies use it).
func caEnabled(o InstallOptions) bool { return o.Config.Identity == IdentityCA }

// caArgs are the rampart-injector flags of the CA (see cmd/rampart-injector).
func caArgs(o InstallOptions) []string {
	if !caEnabled(o) {
		return []string{"--ca=false"}
	}
	args := []string{
		fmt.Sprintf("--ca-listen=:%d", DefaultCAPort),
		"--ca-namespace=" + o.Namespace,
		"--ca-secret=" + CASecretName,
		"--ca-hosts=" + strings.Join(caHosts(o), ","),
		"--svid-ttl=" + o.SVIDTTL.String(),
		fmt.Sprintf("--metrics-addr=:%d", caMetricsPort),
	}
	if o.EgressGateway { // the gateway is not injected: it reads the roots from here
		args = append(args, "--ca-roots-configmap="+CARootsConfigMap)
	}
	return args
}

func caHosts(o InstallOptions) []string {
	h := InjectorName + "." + o.Namespace + ".svc"
	return []string{h, h + ".cluster.local"}
}

func caContainerPorts(o InstallOptions) []corev1.ContainerPort {
	if !caEnabled(o) {
		return nil
	}
	return []corev1.ContainerPort{
		{Name: "https-ca", ContainerPort: DefaultCAPort, Protocol: corev1.ProtocolTCP},
		// rampart_ca_requests_total and the sign latency, for a PodMonitor to scrape.
		{Name: "http-metrics", ContainerPort: caMetricsPort, Protocol: corev1.ProtocolTCP},
	}
}

func caServicePorts(o InstallOptions) []corev1.ServicePort {
	if !caEnabled(o) {
		return nil
	}
	return []corev1.ServicePort{{Name: "https-ca", Port: DefaultCAPort,
		TargetPort: intstr.FromString("https-ca"), Protocol: corev1.ProtocolTCP}}
}

// caRBAC lets the injector's service account create TokenReviews (nothing else
// cluster-wide) and read, or create once, the CA Secret in its namespace. RBAC
// cannot limit create to one name; the Role is namespaced, so the injector can
// create Secrets in rampart-system only.
func caRBAC(o InstallOptions) []runtime.Object {
	if !caEnabled(o) {
		return nil
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: InjectorName, Namespace: o.Namespace}}
	cr := &rbacv1.ClusterRole{ObjectMeta: meta(caRoleName, "", InjectorName), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: meta(caRoleName, "", InjectorName), Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: caRoleName}}
	role := &rbacv1.Role{ObjectMeta: meta(caRoleName, o.Namespace, InjectorName), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{CASecretName}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}}}}
	if o.EgressGateway {
		role.Rules = append(role.Rules,
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{CARootsConfigMap}, Verbs: []string{"get", "update"}},
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}})
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: meta(caRoleName, o.Namespace, InjectorName), Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: caRoleName}}
	cr.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	crb.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
	role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("Role"))
	rb.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("RoleBinding"))
	return []runtime.Object{cr, crb, role, rb}
}

// caDefaults points proxies at the CA of this install's namespace.
func caDefaults(o *InstallOptions) {
	if o.Config.CA.Addr == "" {
		o.Config.CA.Addr = fmt.Sprintf("https://%s.%s.svc:%d", InjectorName, o.Namespace, DefaultCAPort)
	}
	if o.SVIDTTL == 0 {
		o.SVIDTTL = DefaultSVIDTTL
	}
}

package injector

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ProxyName names the ClusterRole and binding of injected proxies.
const ProxyName = "rampart-proxy"

// proxyRBAC lets every injected proxy read what service discovery needs: Pods
// (IP, namespace, service account, labels: source.labels and whether a peer is
// meshed), Services (cluster IPs) and EndpointSlices (ready endpoints). A proxy
// runs as its pod's service account, which install cannot name in advance, so the
// binding is to every service account. Read access to Pods includes their specs;
// a per-node discovery service (the node agent) would narrow this.
func proxyRBAC() []runtime.Object {
	role := &rbacv1.ClusterRole{
		ObjectMeta: meta(ProxyName, "", ProxyName),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	bind := &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(ProxyName, "", ProxyName),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ProxyName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts"}},
	}
	bind.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
	return []runtime.Object{role, bind}
}

package injector

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ProxyName names the ClusterRole and binding of proxies that watch the API
// server themselves (--discovery kube).
const ProxyName = "rampart-proxy"

// ProxyKubeDiscoveryRBAC lets every service account read what --discovery kube
// needs: Pods (IP, namespace, service account, labels), Services and
// EndpointSlices, cluster-wide. Read access to Pods includes their specs, so
// install renders it only when asked (InstallOptions.ProxyKubeDiscovery): injected
// proxies learn the same from rampart-node and need no API access at all.
func ProxyKubeDiscoveryRBAC() []runtime.Object {
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

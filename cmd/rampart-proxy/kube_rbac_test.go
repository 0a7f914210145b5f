package main_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

// TestKubeDiscoveryRBAC: a proxy run with --discovery kube (outside a node with
// rampart-node) holding only a service account's token refuses to start, saying
// it is forbidden and what grants it, until the RBAC of
// `rampart install --proxy-kube-discovery` is applied; then it becomes ready.
func TestKubeDiscoveryRBAC(t *testing.T) {
	bin := buildProxy(t)
	kc := kubeForProxy(t, bin, kubetest.Start(t), "empire", "deathstar")
	admin := freeAddr(t)
	startProxy(t, bin, "--discovery", "kube", "--kubeconfig", kc, "--bundle", "../../policies/starwars",
		"--listen-plaintext", freeAddr(t), "--listen-admin", admin)
	waitReady(t, admin, 20*time.Second)
}

// TestInstallLeavesProxiesNoPodAccess asks the API server (a real
// SubjectAccessReview) after applying the RBAC `rampart install` renders by
// default: an injected pod's service account may not list pods or read
// services, and rampart-node's may watch what its catalog needs.
func TestInstallLeavesProxiesNoPodAccess(t *testing.T) {
	env := kubetest.Start(t)
	c, ctx := env.Client, t.Context()
	objs, err := injector.InstallManifests(injector.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *rbacv1.ClusterRole:
			_, err = c.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		user, group, resource string
		want                  bool
	}{
		{"system:serviceaccount:empire:deathstar", "", "pods", false},
		{"system:serviceaccount:empire:deathstar", "", "services", false},
		{"system:serviceaccount:empire:deathstar", "discovery.k8s.io", "endpointslices", false},
		{"system:serviceaccount:rampart-system:rampart-node", "", "pods", true},
		{"system:serviceaccount:rampart-system:rampart-node", "", "services", true},
		{"system:serviceaccount:rampart-system:rampart-node", "discovery.k8s.io", "endpointslices", true},
	} {
		sar, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: tc.user,
				Groups:             []string{"system:serviceaccounts", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Group: tc.group, Resource: tc.resource}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != tc.want {
			t.Errorf("%s list %s: allowed %v, want %v (%s)", tc.user, tc.resource, sar.Status.Allowed, tc.want, sar.Status.Reason)
		}
	}
}

// kubeForProxy returns a kubeconfig holding only the token of service account
// ns/sa. Without the opt-in RBAC the proxy must refuse to start and say it is
// forbidden; kubeForProxy then applies it.
func kubeForProxy(t *testing.T, bin string, env *kubetest.Env, ns, sa string) string {
	t.Helper()
	c, ctx := env.Client, t.Context()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := env.TokenKubeconfig(t, tok.Status.Token)
	out, err := exec.Command(bin, "--discovery", "kube", "--kubeconfig", kc, "--bundle", "../../policies/starwars",
		"--listen-admin", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "forbidden") || !strings.Contains(string(out), "ClusterRole rampart-proxy") {
		t.Fatalf("proxy without RBAC: err %v, output %s; want it to refuse to start saying forbidden and what grants it", err, out)
	}
	objs, err := injector.InstallManifests(injector.InstallOptions{ProxyKubeDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, o := range objs {
		switch o := o.(type) {
		case *rbacv1.ClusterRole:
			if o.Name == injector.ProxyName {
				_, err = c.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
				applied++
			}
		case *rbacv1.ClusterRoleBinding:
			if o.Name == injector.ProxyName {
				_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
				applied++
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if applied != 2 {
		t.Fatalf("install renders %d rampart-proxy RBAC objects, want a ClusterRole and a binding", applied)
	}
	return kc
}

package main_test

import (
	"os/exec"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

// kubeForProxy starts a real API server and returns a kubeconfig holding only
// the token of service account ns/sa: what an injected proxy in such a pod has
// (the injector mounts that token). Without the RBAC `rampart install` renders the
// proxy must refuse to start and say it is forbidden; with it, it must sync.
func kubeForProxy(t *testing.T, bin, ns, sa string) string {
	t.Helper()
	env := kubetest.Start(t)
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
	objs, err := injector.InstallManifests(injector.InstallOptions{})
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

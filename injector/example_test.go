package injector_test

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/injector"
)

func ExampleMutate() {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar", Namespace: "empire"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "deathstar", Image: "cilium/starwars"}}},
	}
	res, err := injector.Mutate(pod, injector.Config{Mode: injector.ModePermissive})
	if err != nil {
		panic(err)
	}
	proxy := res.Pod.Spec.InitContainers[0]
	fmt.Println(proxy.Name, *proxy.RestartPolicy, *proxy.SecurityContext.RunAsUser)
	for _, e := range proxy.Env {
		if e.Value != "" && !strings.HasPrefix(e.Value, "/") {
			fmt.Printf("%s=%s\n", e.Name, e.Value)
		}
	}
	again, _ := injector.Mutate(res.Pod, injector.Config{})
	fmt.Println("second time:", again.Skipped)
	// Output:
	// rampart-proxy Always 1337
	// TRUST_DOMAIN=cluster.local
	// RAMPART_MODE=PERMISSIVE
	// RAMPART_LOG_LEVEL=info
	// RAMPART_DISCOVERY=node
	// RAMPART_CA_ADDR=https://rampart-injector.rampart-system.svc:15012
	// second time: already injected
}

func ExampleInstallManifests() {
	objs, err := injector.InstallManifests(injector.InstallOptions{CertManager: true})
	if err != nil {
		panic(err)
	}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		m, _ := o.(metav1.Object)
		if m == nil {
			fmt.Println(gvk.Kind)
			continue
		}
		fmt.Println(gvk.Kind, m.GetName())
	}
	// Output:
	// Namespace rampart-system
	// ServiceAccount rampart-injector
	// ClusterRole rampart-ca
	// ClusterRoleBinding rampart-ca
	// Role rampart-ca
	// RoleBinding rampart-ca
	// ServiceAccount rampart-node
	// ClusterRole rampart-node
	// ClusterRoleBinding rampart-node
	// Issuer rampart-injector-selfsigned
	// Certificate rampart-injector
	// Deployment rampart-injector
	// Service rampart-injector
	// PodDisruptionBudget rampart-injector
	// DaemonSet rampart-node
	// MutatingWebhookConfiguration rampart-injector
}

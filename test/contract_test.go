package test_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/sidecar/contract"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestPortContract: the ports and uid of DESIGN.md's contract are declared once
// for the proxy (sidecar/contract: its pod listeners, admin server default,
// tunnel dial port, capture check) and restated by the two leaf packages that may
// not import it: the injector (what it renders into pods) and redirect (the node
// agent's capture defaults). They must agree.
func TestPortContract(t *testing.T) {
	for _, tc := range []struct {
		what                string
		proxy, inj, capture int
	}{
		{"outbound capture", contract.OutboundPort, injector.OutboundPort, redirect.OutboundPort},
		{"plaintext inbound", contract.PlaintextPort, injector.InboundPlaintextPort, redirect.InboundPort},
		{"HBONE tunnel", contract.HBONEPort, injector.TunnelPort, redirect.TunnelPort},
		{"admin", contract.AdminPort, injector.AdminPort, redirect.AdminPort},
		{"proxy uid", contract.ProxyUID, injector.ProxyUID, redirect.ProxyUID},
		{"proxy gid", contract.ProxyGID, injector.ProxyGID, contract.ProxyGID},
		{"capture check", contract.CheckPort, injector.CheckPort, outbound.CheckPort},
	} {
		if tc.proxy != tc.inj || tc.proxy != tc.capture {
			t.Errorf("%s: proxy %d, injector %d, node agent %d", tc.what, tc.proxy, tc.inj, tc.capture)
		}
	}
	if a := outbound.CheckAddr(); a.Addr().String() != injector.CheckAddr || a.Port() != injector.CheckPort {
		t.Errorf("capture check sentinel: proxy %s, injector %s:%d", a, injector.CheckAddr, injector.CheckPort)
	}
}

// TestInjectedPodKeepsContract: the proxy container the injector renders runs as
// the contract uid and exposes the contract tunnel and admin ports.
func TestInjectedPodKeepsContract(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "deathstar", Namespace: "empire"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "deathstar"}}}}
	res, err := injector.Mutate(pod, injector.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var proxy *corev1.Container
	for i, c := range res.Pod.Spec.InitContainers {
		if c.Name == injector.ProxyContainerName {
			proxy = &res.Pod.Spec.InitContainers[i]
		}
	}
	if proxy == nil {
		t.Fatal("no proxy container injected")
	}
	if sc := proxy.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != contract.ProxyUID ||
		sc.RunAsGroup == nil || *sc.RunAsGroup != contract.ProxyGID {
		t.Errorf("proxy security context %+v, want uid/gid %d", proxy.SecurityContext, contract.ProxyUID)
	}
	ports := map[int32]bool{}
	for _, p := range proxy.Ports {
		ports[p.ContainerPort] = true
	}
	if !ports[contract.HBONEPort] || !ports[contract.AdminPort] {
		t.Errorf("proxy ports %+v, want %d and %d", proxy.Ports, contract.HBONEPort, contract.AdminPort)
	}
}

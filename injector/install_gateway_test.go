package injector_test

import (
	"flag"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rampart-mesh/rampart/injector"
)

// TestInstallEgressGateway: --egress-gateway renders the gateway (a Deployment of
// rampart-proxy --serve-egress-gateway, trusting the CA's published roots, and
// its Service on 15008) and injected pods are pointed at it; without it nothing
// of the gateway is rendered and pods get no gateway variables.
func TestInstallEgressGateway(t *testing.T) {
	for _, on := range []bool{true, false} {
		opts := readInstallOptions(t, "testdata/install/egress-gateway.options.yaml")
		opts.EgressGateway = on
		if !on {
			opts.Config.EgressGateway.Hosts = ""
		}
		objs, err := injector.InstallManifests(opts)
		if err != nil {
			t.Fatal(err)
		}
		gw, injectorArgs := findDeployments(objs)
		if (gw != nil) != on {
			t.Fatalf("egress gateway %v: gateway Deployment rendered: %v", on, gw != nil)
		}
		env := injectedEnv(t, injectorArgs)
		if !on {
			if _, ok := env[injector.EnvEgressGateway]; ok || slices.Contains(injectorArgs, "--ca-roots-configmap="+injector.CARootsConfigMap) {
				t.Errorf("without --egress-gateway: env %v, injector args %v", env, injectorArgs)
			}
			continue
		}
		c := gw.Spec.Template.Spec.Containers[0]
		if !slices.Contains(c.Args, "--serve-egress-gateway") || !slices.Contains(c.Args, "--listen-hbone=:15008") ||
			gw.Spec.Template.Spec.ServiceAccountName != injector.GatewayName {
			t.Errorf("gateway container %v as %s", c.Args, gw.Spec.Template.Spec.ServiceAccountName)
		}
		if !hasEnv(c.Env, injector.EnvCABundle, "/etc/rampart/ca-roots/roots.pem") ||
			!slices.Contains(injectorArgs, "--ca-roots-configmap="+injector.CARootsConfigMap) {
			t.Errorf("gateway does not read the roots the CA publishes: env %v, injector args %v", c.Env, injectorArgs)
		}
		if !hasService(objs, injector.GatewayName, 15008) {
			t.Error("no Service rampart-egress-gateway on 15008")
		}
		for k, v := range map[string]string{
			injector.EnvEgressGateway:      "rampart-egress-gateway.rampart-system.svc:15008",
			injector.EnvEgressGatewayID:    "spiffe://cluster.local/ns/rampart-system/sa/rampart-egress-gateway",
			injector.EnvEgressGatewayHosts: "github.com,*.github.com",
		} {
			if env[k] != v {
				t.Errorf("injected proxy %s=%q, want %q", k, env[k], v)
			}
		}
	}
}

// findDeployments returns the gateway Deployment (nil if none) and the
// injector's args.
func findDeployments(objs []runtime.Object) (gw *appsv1.Deployment, injectorArgs []string) {
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			switch d.Name {
			case injector.GatewayName:
				gw = d
			case injector.InjectorName:
				injectorArgs = d.Spec.Template.Spec.Containers[0].Args
			}
		}
	}
	return gw, injectorArgs
}

// injectedEnv injects a pod with the Config the injector's rendered args give
// and returns its proxy's plain variables.
func injectedEnv(t *testing.T, args []string) map[string]string {
	t.Helper()
	fs := flag.NewFlagSet("rampart-injector", flag.ContinueOnError)
	for _, f := range []string{"addr", "tls-cert", "tls-key", "metrics-addr"} {
		fs.String(f, "", "")
	}
	var cfg injector.Config
	cfg.BindFlags(fs)
	var ca injector.CAFlags
	ca.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg.CA.Bundle = "roots" // the webhook sets it from its CA
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	res, err := injector.Mutate(pod, cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, c := range res.Pod.Spec.InitContainers {
		if c.Name == injector.ProxyContainerName {
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
		}
	}
	if len(env) == 0 {
		t.Fatal("no proxy injected")
	}
	return env
}

func hasEnv(env []corev1.EnvVar, name, value string) bool {
	return slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == name && e.Value == value })
}

func hasService(objs []runtime.Object, name string, port int32) bool {
	for _, o := range objs {
		if s, ok := o.(*corev1.Service); ok && s.Name == name && len(s.Spec.Ports) == 1 && s.Spec.Ports[0].Port == port {
			return true
		}
	}
	return false
}

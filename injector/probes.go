package injector

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AppProbe is one original app probe, as the proxy receives it in RAMPART_APP_PROBES
// (a JSON object keyed by admin path, e.g. "/app-health/web/readyz"). Exactly one of
// HTTPGet, TCPSocket, GRPC is set; ports are numbers (named ports are resolved).
type AppProbe struct {
	HTTPGet        *corev1.HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket      *corev1.TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC           *corev1.GRPCAction      `json:"grpc,omitempty"`
	TimeoutSeconds int32                   `json:"timeoutSeconds,omitempty"`
}

// appProbes maps admin paths to the app probes they stand for.
type appProbes map[string]AppProbe

func (p appProbes) paths() []string {
	out := make([]string, 0, len(p))
	for k := range p {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (p appProbes) json() (string, error) {
	if len(p) == 0 {
		return "", nil
	}
	raw, err := json.Marshal(map[string]AppProbe(p)) // map keys marshal sorted: stable output
	if err != nil {
		return "", fmt.Errorf("app probes: %w", err)
	}
	return string(raw), nil
}

// rewriteProbes points every HTTP, TCP and gRPC probe of the pod's app containers at
// the proxy's admin port, so kubelet (which has no SVID) is never refused by STRICT
// mode, and returns the originals for the proxy to run locally. Exec probes need no
// network and stay; a probe whose named port does not exist is left for kubelet to fail.
func rewriteProbes(pod *corev1.Pod) appProbes {
	out := appProbes{}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		for _, p := range []struct {
			probe *corev1.Probe
			kind  string
		}{{c.LivenessProbe, "livez"}, {c.ReadinessProbe, "readyz"}, {c.StartupProbe, "startupz"}} {
			path := AppHealthPrefix + c.Name + "/" + p.kind
			if orig, ok := rewriteProbe(p.probe, c, path); ok {
				out[path] = orig
			}
		}
	}
	return out
}

// rewriteProbe replaces probe's handler with an HTTP GET of path on the admin port and
// returns the original handler, or false when probe has nothing to rewrite.
func rewriteProbe(probe *corev1.Probe, c *corev1.Container, path string) (AppProbe, bool) {
	if probe == nil {
		return AppProbe{}, false
	}
	orig := AppProbe{TimeoutSeconds: probe.TimeoutSeconds}
	h := probe.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		port, ok := resolvePort(h.HTTPGet.Port, c)
		if !ok {
			return AppProbe{}, false
		}
		g := h.HTTPGet.DeepCopy()
		g.Port = port
		if g.Scheme == "" {
			g.Scheme = corev1.URISchemeHTTP
		}
		orig.HTTPGet = g
	case h.TCPSocket != nil:
		port, ok := resolvePort(h.TCPSocket.Port, c)
		if !ok {
			return AppProbe{}, false
		}
		orig.TCPSocket = &corev1.TCPSocketAction{Port: port, Host: h.TCPSocket.Host}
	case h.GRPC != nil:
		orig.GRPC = h.GRPC.DeepCopy()
	default:
		return AppProbe{}, false
	}
	probe.ProbeHandler = corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: path, Port: intstr.FromInt32(AdminPort), Scheme: corev1.URISchemeHTTP,
	}}
	return orig, true
}

// resolvePort turns a named container port into its number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (intstr.IntOrString, bool) {
	if p.Type == intstr.Int {
		return p, true
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return intstr.FromInt32(cp.ContainerPort), true
		}
	}
	return p, false
}

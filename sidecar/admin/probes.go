package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AppHealthPrefix is where rewritten probes live on the admin port.
const AppHealthPrefix = "/app-health/"

// Probe is one original app probe; exactly one handler is set. The JSON shape is
// the injector's (RAMPART_APP_PROBES), which reuses the Kubernetes probe handlers.
type Probe struct {
	HTTPGet        *corev1.HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket      *corev1.TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC           *corev1.GRPCAction      `json:"grpc,omitempty"`
	TimeoutSeconds int32                   `json:"timeoutSeconds,omitempty"`
}

// ParseProbes parses RAMPART_APP_PROBES. An empty string means no probes. Every
// key must be /app-health/<container>/<livez|readyz|startupz>, every probe must
// have exactly one handler with a numeric port in 1..65535.
func ParseProbes(s string) (map[string]Probe, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]Probe{}, nil
	}
	var probes map[string]Probe
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&probes); err != nil {
		return nil, fmt.Errorf("app probes: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("app probes: trailing data")
	}
	for path, p := range probes {
		if err := checkProbe(path, p); err != nil {
			return nil, fmt.Errorf("app probes: %s: %w", path, err)
		}
	}
	return probes, nil
}

func checkProbe(path string, p Probe) error {
	rest, ok := strings.CutPrefix(path, AppHealthPrefix)
	container, kind, found := strings.Cut(rest, "/")
	if !ok || !found || container == "" || (kind != "livez" && kind != "readyz" && kind != "startupz") {
		return fmt.Errorf("path must be %s<container>/<livez|readyz|startupz>", AppHealthPrefix)
	}
	var ports []intstr.IntOrString
	if p.HTTPGet != nil {
		ports = append(ports, p.HTTPGet.Port)
		if s := p.HTTPGet.Scheme; s != "" && s != corev1.URISchemeHTTP && s != corev1.URISchemeHTTPS {
			return fmt.Errorf("scheme %q", s)
		}
	}
	if p.TCPSocket != nil {
		ports = append(ports, p.TCPSocket.Port)
	}
	if p.GRPC != nil {
		ports = append(ports, intstr.FromInt32(p.GRPC.Port))
		if p.GRPC.Service != nil && len(*p.GRPC.Service) > 127 {
			return fmt.Errorf("grpc service name longer than 127 bytes")
		}
	}
	if len(ports) != 1 {
		return fmt.Errorf("need exactly one of httpGet, tcpSocket, grpc")
	}
	if ports[0].Type != intstr.Int || ports[0].IntVal < 1 || ports[0].IntVal > 65535 {
		return fmt.Errorf("port %s is not a number in 1..65535", ports[0].String())
	}
	if p.TimeoutSeconds < 0 {
		return fmt.Errorf("negative timeout")
	}
	return nil
}

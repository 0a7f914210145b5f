package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// AppHealthPrefix is where rewritten probes live on the admin port.
const AppHealthPrefix = "/app-health/"

// Probe is one original app probe; exactly one handler is set. The JSON shape is
// the injector's (RAMPART_APP_PROBES): the Kubernetes probe handlers with numeric
// ports. The types are declared here, not taken from k8s.io/api, so the proxy does
// not link the Kubernetes API packages for three small structs.
type Probe struct {
	HTTPGet        *HTTPGet   `json:"httpGet,omitempty"`
	TCPSocket      *TCPSocket `json:"tcpSocket,omitempty"`
	GRPC           *GRPC      `json:"grpc,omitempty"`
	TimeoutSeconds int32      `json:"timeoutSeconds,omitempty"`
}

// HTTPGet is an HTTP GET probe (Kubernetes HTTPGetAction).
type HTTPGet struct {
	Path        string       `json:"path,omitempty"`
	Port        Port         `json:"port"`
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one header an HTTP probe sends.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocket is a TCP connect probe (Kubernetes TCPSocketAction).
type TCPSocket struct {
	Port Port   `json:"port"`
	Host string `json:"host,omitempty"`
}

// GRPC is a gRPC health probe (Kubernetes GRPCAction).
type GRPC struct {
	Port    Port    `json:"port"`
	Service *string `json:"service,omitempty"`
}

// Port is a port number; the injector resolves named ports before it passes
// probes on, so a name here is an error.
type Port int32

// UnmarshalJSON accepts only a JSON number.
func (p *Port) UnmarshalJSON(b []byte) error {
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("port %s is not a number in 1..65535", b)
	}
	*p = Port(n)
	return nil
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
	var ports []Port
	if p.HTTPGet != nil {
		ports = append(ports, p.HTTPGet.Port)
		if s := p.HTTPGet.Scheme; s != "" && s != "HTTP" && s != "HTTPS" {
			return fmt.Errorf("scheme %q", s)
		}
	}
	if p.TCPSocket != nil {
		ports = append(ports, p.TCPSocket.Port)
	}
	if p.GRPC != nil {
		ports = append(ports, p.GRPC.Port)
		if p.GRPC.Service != nil && len(*p.GRPC.Service) > 127 {
			return fmt.Errorf("grpc service name longer than 127 bytes")
		}
	}
	if len(ports) != 1 {
		return fmt.Errorf("need exactly one of httpGet, tcpSocket, grpc")
	}
	if ports[0] < 1 || ports[0] > 65535 {
		return fmt.Errorf("port %d is not a number in 1..65535", ports[0])
	}
	if p.TimeoutSeconds < 0 {
		return fmt.Errorf("negative timeout")
	}
	return nil
}

package main

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery/node"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// settings is every rampart-proxy setting, typed. Each field is bound once, to a
// flag and to one or more variables (see flagSet); values are parsed and checked
// when they are set, so options only combines them.
type settings struct {
	// Policy.
	Bundle, BundleURL        string
	BundlePoll, BundleReload time.Duration
	Decision, DecisionLog    string
	ShadowBundle             string
	DecisionRing             int
	RequestBody              int

	// Inbound (server side).
	Plaintext, HBONE, Upstream string
	Mode                       string // "", STRICT or PERMISSIVE
	Labels                     map[string]string
	PodIPs                     []netip.Addr
	Workloads, Slashes         string

	// Outbound (client side) and discovery.
	Capture, Registry                       string
	Routes                                  []outbound.Route
	ConnectTimeout                          time.Duration
	Discovery, Kubeconfig, DiscoveryNS      string
	DiscoverySocket                         string
	SVIDDir, CADir, CAAddr, CAToken         string
	CABundle, WorkloadAPI, TrustDomain      string
	Namespace, ServiceAccount               string
	Admin, AppProbes, PodName               string
	PodIP                                   netip.Addr
	DrainTimeout                            time.Duration
	LogLevel                                slog.Level
	ExcludeInPorts, ExcludeOutPorts         []uint16
	ExcludeOutCIDRs                         []netip.Prefix
	MaxConns, MaxPerAddress, MaxPerIdentity int
	StreamBodies                            bool
	MemoryPressure                          float64
	MemoryLimit                             int64 // bytes; 0: none (see setMemoryLimit)
	ReleaseStartupMemory                    bool  // see releaseStartupMemory

	// Egress (connections leaving the mesh).
	EgressResolver netip.AddrPort
	EgressOff      bool
	// Egress gateway: the pod side's route, and serving as the gateway.
	EgressGateway, EgressGatewayID string
	EgressGatewayHosts             []string
	ServeEgressGateway             bool

	inPod bool // listeners default to the contract ports (see inPod)
}

// defaultSettings are the values before any flag or variable.
func defaultSettings(pod bool) settings {
	return settings{
		BundlePoll: 5 * time.Second, BundleReload: 5 * time.Second,
		CAToken: "/var/run/secrets/rampart/token", TrustDomain: "cluster.local",
		Namespace: "default", ServiceAccount: "default", Slashes: "reject", Discovery: "file", DiscoverySocket: node.DefaultSocket,
		ConnectTimeout: 2 * time.Second, DrainTimeout: 5 * time.Second, LogLevel: slog.LevelInfo,
		Plaintext: podDefault(pod, podPlaintext), HBONE: podDefault(pod, podHBONE),
		Capture: podDefault(pod, podOutbound), Admin: podDefault(pod, podAdmin),
		Labels: map[string]string{}, ReleaseStartupMemory: true, inPod: pod,
	}
}

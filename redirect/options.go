package redirect

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"syscall"
)

// Ports of the capture contract (DESIGN.md); Options fields default to them.
// Restated here because redirect is a leaf; test/contract_test.go fails unless
// they match sidecar/contract (the proxy) and the injector.
const (
	OutboundPort = 15001 // the proxy's outbound capture listener on loopback
	InboundPort  = 15006 // the proxy's plaintext inbound listener
	TunnelPort   = 15008 // the proxy's mTLS tunnel listener, never steered
	AdminPort    = 15020 // the proxy's admin port, never steered (probes reach it)
	ProxyUID     = 1337  // the proxy's uid, never redirected
)

// DefaultPinRoot is where pods' links and maps are pinned, one folder per pod.
const DefaultPinRoot = "/sys/fs/bpf/rampart"

// NoProxyUID turns the uid exemption off (Options.ProxyUID).
const NoProxyUID = -1

// Mode is the pod's inbound mode, recorded with its pins. The kernel path is the same
// in both: plaintext goes to the inbound listener, which refuses it (STRICT) or
// authorizes it as unauthenticated (PERMISSIVE).
type Mode uint16

const (
	ModePermissive Mode = iota
	ModeStrict
)

// Options describe one pod to capture.
type Options struct {
	// Name identifies the pod's pins (e.g. its UID); letters, digits, '.', '_', '-'.
	Name string
	// PinRoot is the bpffs folder holding every pod's pins; DefaultPinRoot if empty.
	PinRoot string
	// CgroupPath is the pod's cgroup v2 folder; the proxy's cgroup is inside it or not.
	CgroupPath string
	// NetNSPath is the pod's network namespace (e.g. /proc/PID/ns/net); empty means no
	// inbound capture.
	NetNSPath string
	// PodIPs are the pod's addresses; inbound connections to them are steered.
	PodIPs []netip.Addr
	// ProxyCgroupID is the cgroup id (inode) of the proxy container; 0 if unknown.
	ProxyCgroupID uint64
	// ProxyUID is the proxy's uid; 0 means ProxyUID (1337), NoProxyUID disables it.
	ProxyUID int
	// Mode is the inbound mode, recorded for the agent and the proxy.
	Mode Mode
	// ExcludeOutboundPorts are destination ports never redirected.
	ExcludeOutboundPorts []uint16
	// ExcludeInboundPorts are pod ports never steered to the inbound listener.
	// AdminPort is always excluded.
	ExcludeInboundPorts []uint16
	// ExcludeCIDRs are destinations never redirected.
	ExcludeCIDRs []netip.Prefix
	// InboundListener is the proxy's inbound listener socket (e.g. *net.TCPListener,
	// MPTCP off); it can also be set later with Handle.SetInboundListener.
	InboundListener syscall.Conn
	// Accelerate turns on the sk_msg short-circuit of app<->proxy bytes (IPv4). Off by
	// default: in BenchmarkAppProxyRoundTrip it cut round trips by up to half (64 KiB)
	// but not in every run (1 KiB under load), and on kernel 6.18 a proxy that splices
	// (Go's io.Copy between TCP connections) receives nothing through it and stalls.
	Accelerate bool
	// OutboundPort, InboundPort, TunnelPort default to the contract ports.
	OutboundPort, InboundPort, TunnelPort uint16
}

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// ErrBadOptions is wrapped by every Options validation error.
var ErrBadOptions = errors.New("bad options")

func (o *Options) setDefaults() {
	if o.PinRoot == "" {
		o.PinRoot = DefaultPinRoot
	}
	if o.ProxyUID == 0 {
		o.ProxyUID = ProxyUID
	}
	if o.OutboundPort == 0 {
		o.OutboundPort = OutboundPort
	}
	if o.InboundPort == 0 {
		o.InboundPort = InboundPort
	}
	if o.TunnelPort == 0 {
		o.TunnelPort = TunnelPort
	}
}

func (o *Options) validate() error {
	switch {
	case !validName.MatchString(o.Name) || o.Name == "." || o.Name == "..":
		return fmt.Errorf("%w: name %q", ErrBadOptions, o.Name)
	case o.CgroupPath == "":
		return fmt.Errorf("%w: no cgroup path", ErrBadOptions)
	case o.Mode > ModeStrict:
		return fmt.Errorf("%w: mode %d", ErrBadOptions, o.Mode)
	case o.ProxyUID < NoProxyUID:
		return fmt.Errorf("%w: proxy uid %d", ErrBadOptions, o.ProxyUID)
	}
	for _, ip := range o.PodIPs {
		if !ip.IsValid() {
			return fmt.Errorf("%w: invalid pod ip", ErrBadOptions)
		}
	}
	for _, p := range o.ExcludeCIDRs {
		if !p.IsValid() {
			return fmt.Errorf("%w: invalid cidr", ErrBadOptions)
		}
	}
	return nil
}

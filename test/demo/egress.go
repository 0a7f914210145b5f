package demo

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/rampart-mesh/rampart/policies"
)

// The egress scenario's "internet": one unmeshed pod holding an address per
// host, serving each over HTTP (80) and HTTPS (443, a certificate of the demo's
// own CA), and the DNS server that names them.
var (
	InternetIP = netip.MustParseAddr("198.18.8.250")
	// InternetHosts maps each external name to its address.
	InternetHosts = map[string]netip.Addr{
		"github.com":   netip.MustParseAddr("198.18.10.1"),
		"httpbin.org":  netip.MustParseAddr("198.18.10.2"),
		"google.com":   netip.MustParseAddr("198.18.10.3"),
		"evil.example": netip.MustParseAddr("198.18.10.4"),
	}
)

// EgressRevision is the revision of the egress scenario's bundle.
const EgressRevision = "egress-demo-1"

// egressBundleExtra makes the shipped egress bundle also hold the inbound
// decision (the proxy needs one), so one bundle serves both paths.
var egressBundleExtra = map[string]string{
	".manifest":  `{"revision": "` + EgressRevision + `", "roots": ["rampart/egress", "rampart/authz"]}`,
	"authz.rego": "package rampart.authz\n\ndefault allow := false\n",
}

// Egress is the egress seed scenario: app a may reach github.com and httpbin.org,
// app b only google.com, both over HTTP and HTTPS; all else leaving the mesh is
// denied for them.
type Egress struct {
	Env      *Env
	Internet *Proc   // the external servers and DNS
	A, B     *Client // egress clients in the meshed pods a and b
	CAFile   string  // the CA the clients trust
	seen     *seenLines
}

// StartEgress builds the scenario in env, the pods' traffic captured by eBPF.
func StartEgress(env *Env) (*Egress, error) {
	return startEgress(env, false, false)
}

// StartEgressRedirect builds the scenario in env with the outside check's
// contract instead of eBPF: each pod's rampart-proxy runs with only --bundle,
// --listen-outbound and identity flags, and iptables REDIRECTs its app's TCP to
// that listener (see redirectPod).
func StartEgressRedirect(env *Env) (*Egress, error) {
	return startEgress(env, true, false)
}

func startEgress(env *Env, iptables, gateway bool) (*Egress, error) {
	eg := &Egress{Env: env}
	if err := env.InitCA(); err != nil {
		return nil, err
	}
	certs, err := writeInternetCerts(env)
	if err != nil {
		return nil, err
	}
	eg.CAFile = certs.ca
	internet, err := env.AddPod(PodSpec{Name: "internet", IP: InternetIP})
	if err != nil {
		return nil, err
	}
	for _, ip := range sortedHostIPs() {
		if err := env.IP(internet.NetNS, fmt.Sprintf("addr add %s/32 dev eth0", ip)); err != nil {
			return nil, err
		}
	}
	if eg.Internet, err = internet.startHelper("internet", certs.cert, certs.key, hostsArg()); err != nil {
		return nil, err
	}
	eg.seen = collectSeen(eg.Internet)
	env.egressResolver = netip.AddrPortFrom(InternetIP, 53).String()
	bundle, err := egressBundle(env)
	if err != nil {
		return nil, err
	}
	return eg, eg.startApps(bundle, iptables, gateway)
}

func (eg *Egress) startApps(bundle string, iptables, gateway bool) error {
	var pods []*Pod
	for i, app := range []string{"a", "b"} {
		p, err := eg.Env.AddPod(PodSpec{Name: "app-" + app, IP: netip.AddrFrom4([4]byte{198, 18, 8, byte(41 + i)}),
			Meshed: !iptables, Labels: map[string]string{"app": app}})
		if err != nil {
			return err
		}
		pods = append(pods, p)
	}
	apps := pods
	if gateway {
		gw, err := eg.Env.AddPod(gatewaySpec)
		if err != nil {
			return err
		}
		pods = append(pods, gw)
	}
	if err := eg.Env.WriteRegistry(pods, nil); err != nil {
		return err
	}
	var extra []string
	if gateway {
		var err error
		if extra, err = eg.startGateway(pods[len(pods)-1], bundle); err != nil {
			return err
		}
	}
	clients := []**Client{&eg.A, &eg.B}
	for i, p := range apps {
		mesh := p.Mesh
		if iptables {
			mesh = p.redirectPod
		}
		if err := mesh(ProxyOptions{Bundle: bundle, Extra: extra}); err != nil {
			return err
		}
		proc, err := p.startHelper("egress-client", eg.CAFile)
		if err != nil {
			return err
		}
		*clients[i] = &Client{Pod: p, proc: proc}
	}
	return nil
}

func egressBundle(env *Env) (string, error) {
	fsys, err := policies.Bundle("egress")
	if err != nil {
		return "", err
	}
	return env.WriteBundle("egress", fsys, EgressRevision, egressBundleExtra)
}

// Get fetches url from the client's pod, connecting to addr (an internet host's
// address; "" = the URL's own host's) whatever the URL's name: the app resolved
// the name itself, so a spoofed address is the app's choice, not DNS's.
func (c *Client) Get(url string, addr netip.Addr) (Result, error) {
	if !addr.IsValid() {
		addr = InternetHosts[hostOf(url)]
	}
	return c.Do("GET", url+" "+addr.String())
}

// Raw sends b to addr from the client's pod, seg bytes per TCP segment (0: at
// once), half-closes, and returns what came back (hex in Result.Body).
func (c *Client) Raw(addr netip.AddrPort, seg int, b []byte) (Result, error) {
	return c.Do("RAW", fmt.Sprintf("%s %d %s", addr, seg, hex.EncodeToString(b)))
}

// Conns returns how many connections reached the named internet host on port.
func (eg *Egress) Conns(host string, port uint16) int {
	return eg.seen.count(fmt.Sprintf("conn %s %d", host, port))
}

// Seen returns how many requests the named internet host received.
func (eg *Egress) Seen(host string) int { return eg.seen.count(host) }

func sortedHostIPs() []netip.Addr {
	var ips []netip.Addr
	for _, ip := range InternetHosts {
		ips = append(ips, ip)
	}
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	return ips
}

// hostsArg is "name=ip,..." for the internet helper.
func hostsArg() string {
	var kv []string
	for name, ip := range InternetHosts {
		kv = append(kv, name+"="+ip.String())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func parseHosts(s string) (map[string]netip.Addr, error) {
	out := map[string]netip.Addr{}
	for kv := range strings.SplitSeq(s, ",") {
		name, ip, _ := strings.Cut(kv, "=")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, fmt.Errorf("hosts %q: %w", kv, err)
		}
		out[name] = a
	}
	return out, nil
}

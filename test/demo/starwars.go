package demo

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/rampart-mesh/rampart/policies"
)

// StarWarsOptions configure the scenario.
type StarWarsOptions struct {
	// Mode is the deathstar proxies' plaintext mode. Default Strict.
	Mode Mode
}

// StarWars is Cilium's Star Wars demo on real namespaces: two deathstar replicas
// behind a service VIP, a tiefighter (org=empire) and an xwing (org=alliance),
// all meshed, and an unmeshed smuggler with no proxy.
type StarWars struct {
	Env        *Env
	Deathstar  []*Pod // the replicas
	Apps       []*App // their deathstar apps, in the same order
	Service    *Service
	Tiefighter *Client
	Xwing      *Client
	Smuggler   *Client     // unmeshed: plaintext straight to a pod IP
	Bundles    *LiveBundle // nil when the proxy cannot reload its bundle
	// StarWarsBundle and ExhaustBundle are bundle folders: the shipped policy, and
	// one that also lets the Empire PUT /v1/exhaust-port (for swapping).
	StarWarsBundle, ExhaustBundle string
}

// Addresses of the scenario (198.18.8.0/24, this package's range).
var (
	DeathstarVIP = netip.MustParseAddr("198.18.9.10")
	deathstarIPs = []netip.Addr{netip.MustParseAddr("198.18.8.11"), netip.MustParseAddr("198.18.8.12")}
)

// Revisions of the two bundles the scenario serves.
const (
	StarWarsRevision = "starwars-demo-1"
	ExhaustRevision  = "starwars-exhaust-2"
)

// exhaustRule is the swapped-in addition: the Empire may also vent the exhaust port.
const exhaustRule = `package rampart.authz

allow if {
	input.attributes.destination.labels.app == "deathstar"
	input.attributes.source.labels.org == "empire"
	input.attributes.request.http.method == "PUT"
	input.parsed_path == ["v1", "exhaust-port"]
}
`

// StartStarWars builds the scenario in env: CA, pods, registry, bundles, capture,
// proxies, apps and clients.
func StartStarWars(env *Env, opts StarWarsOptions) (*StarWars, error) {
	sw := &StarWars{Env: env}
	if err := sw.policies(); err != nil {
		return nil, err
	}
	if err := env.InitCA(); err != nil {
		return nil, err
	}
	pods, err := sw.pods()
	if err != nil {
		return nil, err
	}
	if err := env.WriteRegistry(pods, []*Service{sw.Service}); err != nil {
		return nil, err
	}
	popts := ProxyOptions{Mode: opts.Mode, Bundle: sw.StarWarsBundle}
	if sw.Bundles, err = liveBundle(env, sw.StarWarsBundle); err != nil {
		return nil, err
	}
	if sw.Bundles != nil {
		popts.Bundle = sw.Bundles.Location
	}
	return sw, sw.start(pods, popts)
}

func (sw *StarWars) policies() error {
	fsys, err := policies.Bundle("starwars")
	if err != nil {
		return err
	}
	if sw.StarWarsBundle, err = sw.Env.WriteBundle("starwars", fsys, StarWarsRevision, nil); err != nil {
		return err
	}
	sw.ExhaustBundle, err = sw.Env.WriteBundle("exhaust", fsys, ExhaustRevision,
		map[string]string{"exhaust.rego": exhaustRule})
	return err
}

// pods creates every pod of the scenario; the last one is the smuggler.
func (sw *StarWars) pods() ([]*Pod, error) {
	specs := []PodSpec{
		{Name: "tiefighter", IP: netip.MustParseAddr("198.18.8.21"), Meshed: true,
			Labels: map[string]string{"org": "empire", "class": "tiefighter"}},
		{Name: "xwing", IP: netip.MustParseAddr("198.18.8.22"), Meshed: true,
			Labels: map[string]string{"org": "alliance", "class": "xwing"}},
		{Name: "smuggler", IP: netip.MustParseAddr("198.18.8.31"),
			Labels: map[string]string{"class": "smuggler"}},
	}
	var ds []PodSpec
	for i, ip := range deathstarIPs {
		ds = append(ds, PodSpec{Name: fmt.Sprintf("deathstar-%d", i+1), ServiceAccount: "deathstar",
			IP: ip, Meshed: true, Labels: map[string]string{"app": "deathstar", "org": "empire", "class": "deathstar"}})
	}
	specs = append(ds, specs...)
	var pods []*Pod
	for _, s := range specs {
		p, err := sw.Env.AddPod(s)
		if err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	sw.Deathstar = pods[:len(deathstarIPs)]
	sw.Service = &Service{Name: "deathstar", Namespace: "default", VIP: DeathstarVIP, Port: 80, Pods: sw.Deathstar}
	return pods, nil
}

// start meshes the meshed pods, then starts apps and clients (after capture, so
// their sockets are captured).
func (sw *StarWars) start(pods []*Pod, popts ProxyOptions) error {
	for _, p := range pods {
		if p.Meshed {
			if err := p.Mesh(popts); err != nil {
				return err
			}
		}
	}
	for _, p := range sw.Deathstar {
		a, err := p.StartDeathstar()
		if err != nil {
			return err
		}
		sw.Apps = append(sw.Apps, a)
	}
	var err error
	n := len(sw.Deathstar)
	if sw.Tiefighter, err = pods[n].StartClient(); err != nil {
		return err
	}
	if sw.Xwing, err = pods[n+1].StartClient(); err != nil {
		return err
	}
	sw.Smuggler, err = pods[n+2].StartClient()
	return err
}

// ServiceURL is http://<deathstar VIP><path>: what the meshed clients call.
func (sw *StarWars) ServiceURL(path string) string {
	return fmt.Sprintf("http://%s%s", DeathstarVIP, path)
}

// PodURL is http://<deathstar-1 pod IP><path>: what the smuggler calls.
func (sw *StarWars) PodURL(path string) string {
	return fmt.Sprintf("http://%s%s", sw.Deathstar[0].IP, path)
}

// Seen sums how many requests with method and path reached any deathstar replica.
func (sw *StarWars) Seen(method, path string) int {
	n := 0
	for _, a := range sw.Apps {
		n += a.Seen(method, path)
	}
	return n
}

// Decisions returns the decisions logged so far by every deathstar proxy, oldest
// first.
func (sw *StarWars) Decisions() ([]Decision, error) {
	var all []Decision
	for _, p := range sw.Deathstar {
		ds, err := p.Proxy().Decisions()
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			d.Proxy = p.Name
			all = append(all, d)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, nil
}

// liveBundle is how the proxies follow bundle swaps: a file they re-read.
func liveBundle(env *Env, dir string) (*LiveBundle, error) { return env.BundleFile(dir) }

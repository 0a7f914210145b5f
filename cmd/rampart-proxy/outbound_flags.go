package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// outConfig holds the outbound, admin and pod flags before they become Options.
type outConfig struct {
	capture, registry, admin, appProbes string
	routes                              routeList
	connectTimeout, drainTimeout        time.Duration
	podName, podIP                      string
}

// envOr returns the first set variable of envs, else def: RAMPART_* names win
// over the injector's downward-API names (POD_NAMESPACE, ...).
func envOr(def string, envs ...string) string {
	for _, e := range envs {
		if v, ok := os.LookupEnv(e); ok {
			return v
		}
	}
	return def
}

func (c *outConfig) register(fs *flag.FlagSet, pod bool) {
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(def, env), usage+" ($"+env+")")
	}
	str(&c.capture, "listen-outbound", "RAMPART_LISTEN_OUTBOUND", podDefault(pod, podOutbound), "capture listener for redirected connections (127.0.0.1:15001 in a pod)")
	str(&c.registry, "registry", "RAMPART_REGISTRY", "", "service registry JSON file (service VIP → endpoints)")
	str(&c.admin, "listen-admin", "RAMPART_LISTEN_ADMIN", podDefault(pod, podAdmin), "admin listener: /metrics, /healthz/*, /debug/config, /app-health/* (:15020 in a pod)")
	str(&c.appProbes, "app-probes", "RAMPART_APP_PROBES", "", "app probes rewritten by the injector (JSON)")
	str(&c.podName, "pod-name", "POD_NAME", "", "this pod's name")
	str(&c.podIP, "pod-ip", "POD_IP", "", "this pod's IP")
	for _, r := range strings.Split(envOr("", "RAMPART_ROUTES"), ";") {
		if r = strings.TrimSpace(r); r != "" {
			c.routes = append(c.routes, r)
		}
	}
	fs.Var(&c.routes, "route", "explicit route LISTEN=DEST[,id=SPIFFE-ID][,proxy=ADDR][,plain]; repeatable ($RAMPART_ROUTES, ';'-separated)")
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		if v, err := time.ParseDuration(envOr("", env)); err == nil {
			def = v
		}
		fs.DurationVar(p, name, def, usage+" ($"+env+")")
	}
	dur(&c.connectTimeout, "connect-timeout", "RAMPART_CONNECT_TIMEOUT", 2*time.Second, "bound on reaching a destination proxy")
	dur(&c.drainTimeout, "drain-timeout", "RAMPART_DRAIN_TIMEOUT", 5*time.Second, "how long open connections may finish after SIGTERM")
}

func (c *outConfig) apply(o *sidecar.Options) error {
	o.Outbound.CaptureAddr, o.Outbound.RegistryFile = c.capture, c.registry
	o.Admin.Addr, o.Admin.AppProbes = c.admin, c.appProbes
	o.Outbound.Tuning.ConnectTimeout, o.DrainTimeout = c.connectTimeout, c.drainTimeout
	if c.connectTimeout <= 0 || c.drainTimeout <= 0 {
		return fmt.Errorf("--connect-timeout and --drain-timeout must be positive")
	}
	if c.podIP != "" {
		if _, err := netip.ParseAddr(c.podIP); err != nil {
			return fmt.Errorf("--pod-ip / $POD_IP: %w", err)
		}
	}
	for _, s := range c.routes {
		r, err := parseRoute(s)
		if err != nil {
			return err
		}
		o.Outbound.Routes = append(o.Outbound.Routes, r)
	}
	return nil
}

// routeList collects repeated --route flags.
type routeList []string

func (l *routeList) String() string     { return strings.Join(*l, ";") }
func (l *routeList) Set(s string) error { *l = append(*l, s); return nil }

// parseRoute reads LISTEN=DEST[,id=SPIFFE-ID][,proxy=ADDR][,plain]; addresses are
// checked by outbound.New.
func parseRoute(s string) (outbound.Route, error) {
	listen, rest, ok := strings.Cut(s, "=")
	parts := strings.Split(rest, ",")
	if !ok || listen == "" || parts[0] == "" {
		return outbound.Route{}, fmt.Errorf("--route %q: want LISTEN=DEST[,id=ID][,proxy=ADDR][,plain]", s)
	}
	r := outbound.Route{Listen: listen, Destination: parts[0]}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "id":
			r.Identity = v
		case "proxy":
			r.Proxy = v
		case "plain":
			r.Plain = true
		default:
			return outbound.Route{}, fmt.Errorf("--route %q: unknown option %q", s, k)
		}
	}
	return r, nil
}

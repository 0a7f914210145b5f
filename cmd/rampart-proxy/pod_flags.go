package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/rampart-mesh/rampart/sidecar"
)

// Contract listener addresses inside a pod (DESIGN.md). The plaintext listener
// is IPv4 because the node agent's sk_lookup steers IPv4 pod traffic to it.
const (
	podOutbound  = "127.0.0.1:15001"
	podPlaintext = "0.0.0.0:15006"
	podHBONE     = ":15008"
	podAdmin     = ":15020"
)

// inPod reports whether the proxy runs as an injected sidecar: $RAMPART_IN_POD
// when set, else whether $POD_NAME (set by the injector from the downward API)
// is. In a pod the listeners default to the contract ports.
func inPod() (bool, error) {
	if v, ok := os.LookupEnv("RAMPART_IN_POD"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("$RAMPART_IN_POD %q: want true or false", v)
		}
		return b, nil
	}
	return os.Getenv("POD_NAME") != "", nil
}

// podDefault returns def in a pod and "" (listener off) elsewhere.
func podDefault(pod bool, def string) string {
	if pod {
		return def
	}
	return ""
}

// podConfig holds the injector-only settings: log level and capture exclusions.
type podConfig struct {
	logLevel                        string
	exclInPorts, exclOutPorts, cidr string
}

func (c *podConfig) register(fs *flag.FlagSet) {
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(def, env), usage+" ($"+env+")")
	}
	str(&c.logLevel, "log-level", "RAMPART_LOG_LEVEL", "info", "log level: debug|info|warn|error")
	str(&c.exclInPorts, "exclude-inbound-ports", "RAMPART_EXCLUDE_INBOUND_PORTS", "", "pod ports the node agent never captures, comma-separated (validated and shown at /debug/config)")
	str(&c.exclOutPorts, "exclude-outbound-ports", "RAMPART_EXCLUDE_OUTBOUND_PORTS", "", "destination ports the node agent never captures, comma-separated")
	str(&c.cidr, "exclude-outbound-cidrs", "RAMPART_EXCLUDE_OUTBOUND_CIDRS", "", "destination prefixes the node agent never captures, comma-separated")
}

// apply validates the exclusions into o.Capture and returns the log level.
func (c *podConfig) apply(o *sidecar.Options) (slog.Level, error) {
	var lvl slog.Level
	switch l := strings.ToLower(c.logLevel); l {
	case "debug", "info", "warn", "error":
		lvl.UnmarshalText([]byte(l)) // cannot fail on these four
	default:
		return 0, fmt.Errorf("--log-level / $RAMPART_LOG_LEVEL %q: want debug, info, warn or error", c.logLevel)
	}
	var err error
	if o.Capture.ExcludeInboundPorts, err = parsePorts("--exclude-inbound-ports / $RAMPART_EXCLUDE_INBOUND_PORTS", c.exclInPorts); err != nil {
		return 0, err
	}
	if o.Capture.ExcludeOutboundPorts, err = parsePorts("--exclude-outbound-ports / $RAMPART_EXCLUDE_OUTBOUND_PORTS", c.exclOutPorts); err != nil {
		return 0, err
	}
	for p := range strings.SplitSeq(c.cidr, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return 0, fmt.Errorf("--exclude-outbound-cidrs / $RAMPART_EXCLUDE_OUTBOUND_CIDRS: %w", err)
		}
		o.Capture.ExcludeOutboundCIDRs = append(o.Capture.ExcludeOutboundCIDRs, pfx)
	}
	return lvl, nil
}

func parsePorts(what, s string) ([]uint16, error) {
	var out []uint16
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%s: %q is not a port (1-65535)", what, p)
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

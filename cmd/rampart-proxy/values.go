package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// The pflag.Value types below parse a setting when it is set, from a flag or a
// variable alike, so a malformed value is an error that names where it came from
// (see bindEnv) before anything starts. Lists are comma-separated; a variable or a
// flag replaces the whole list (Set is called once per source: see bindEnv).

// routesValue is --route / $RAMPART_ROUTES. The flag repeats; the variable holds
// several routes separated by ';'.
type routesValue struct{ routes *[]outbound.Route }

func (v routesValue) Type() string { return "LISTEN=DEST[,id=ID][,proxy=ADDR][,plain]" }
func (v routesValue) String() string {
	s := make([]string, len(*v.routes))
	for i, r := range *v.routes {
		s[i] = r.Listen + "=" + r.Destination
	}
	return strings.Join(s, ";")
}

// Set appends the routes of s (';'-separated): repeated --route flags add up, and
// bindEnv never sets a variable over a flag.
func (v routesValue) Set(s string) error {
	for r := range strings.SplitSeq(s, ";") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		route, err := parseRoute(r)
		if err != nil {
			return err
		}
		*v.routes = append(*v.routes, route)
	}
	return nil
}

// parseRoute reads LISTEN=DEST[,id=SPIFFE-ID][,proxy=ADDR][,plain]; addresses are
// checked by outbound.New.
func parseRoute(s string) (outbound.Route, error) {
	listen, rest, ok := strings.Cut(s, "=")
	parts := strings.Split(rest, ",")
	if !ok || listen == "" || parts[0] == "" {
		return outbound.Route{}, fmt.Errorf("route %q: want LISTEN=DEST[,id=ID][,proxy=ADDR][,plain]", s)
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
			return outbound.Route{}, fmt.Errorf("route %q: unknown option %q", s, k)
		}
	}
	return r, nil
}

// listValue is a comma-separated list whose every element parse accepts; empty
// elements are skipped, and Set replaces the list.
type listValue[T any] struct {
	list  *[]T
	parse func(string) (T, error)
	typ   string
}

func (v listValue[T]) Type() string { return v.typ }
func (v listValue[T]) String() string {
	s := make([]string, len(*v.list))
	for i, e := range *v.list {
		s[i] = fmt.Sprint(e)
	}
	return strings.Join(s, ",")
}

func (v listValue[T]) Set(s string) error {
	var out []T
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		x, err := v.parse(e)
		if err != nil {
			return err
		}
		out = append(out, x)
	}
	*v.list = out
	return nil
}

func addrList(p *[]netip.Addr) listValue[netip.Addr] {
	return listValue[netip.Addr]{p, netip.ParseAddr, "addrs"}
}

func prefixList(p *[]netip.Prefix) listValue[netip.Prefix] {
	return listValue[netip.Prefix]{p, netip.ParsePrefix, "cidrs"}
}

func portList(p *[]uint16) listValue[uint16] {
	return listValue[uint16]{p, func(s string) (uint16, error) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("%q is not a port (1-65535)", s)
		}
		return uint16(n), nil
	}, "ports"}
}

// labelsValue is k=v,k=v.
type labelsValue struct{ m *map[string]string }

func (v labelsValue) Type() string { return "k=v,..." }
func (v labelsValue) String() string {
	s := make([]string, 0, len(*v.m))
	for k, val := range *v.m {
		s = append(s, k+"="+val)
	}
	return strings.Join(s, ",")
}

func (v labelsValue) Set(s string) error {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not k=v", kv)
		}
		out[k] = val
	}
	*v.m = out
	return nil
}

// addrValue is one IP address; "" leaves it unset.
// addrValue is an address parsed by parse (netip.ParseAddr for an IP,
// netip.ParseAddrPort for ip:port); "" unsets it.
type addrValue[T interface {
	IsValid() bool
	String() string
}] struct {
	a     *T
	typ   string
	parse func(string) (T, error)
}

func ipValue(a *netip.Addr) addrValue[netip.Addr] {
	return addrValue[netip.Addr]{a, "ip", netip.ParseAddr}
}

func ipPortValue(a *netip.AddrPort) addrValue[netip.AddrPort] {
	return addrValue[netip.AddrPort]{a, "ip:port", netip.ParseAddrPort}
}

func (v addrValue[T]) Type() string { return v.typ }
func (v addrValue[T]) String() string {
	if !(*v.a).IsValid() {
		return ""
	}
	return (*v.a).String()
}

func (v addrValue[T]) Set(s string) error {
	if s == "" {
		var zero T
		*v.a = zero
		return nil
	}
	a, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.a = a
	return nil
}

// choiceValue is one of a fixed set of words, case-insensitive; "" is allowed
// when the zero value means "decide later" (--mode).
type choiceValue struct {
	s       *string
	choices []string
}

func (v choiceValue) Type() string   { return strings.Join(v.choices, "|") }
func (v choiceValue) String() string { return *v.s }
func (v choiceValue) Set(s string) error {
	for _, c := range v.choices {
		if strings.EqualFold(s, c) {
			*v.s = c
			return nil
		}
	}
	n := len(v.choices)
	if n == 1 {
		return fmt.Errorf("want %s", v.choices[0])
	}
	return fmt.Errorf("want %s or %s", strings.Join(v.choices[:n-1], ", "), v.choices[n-1])
}

// levelValue is a slog level name.
type levelValue struct{ l *slog.Level }

func (v levelValue) Type() string   { return "debug|info|warn|error" }
func (v levelValue) String() string { return strings.ToLower(v.l.String()) }
func (v levelValue) Set(s string) error {
	switch l := strings.ToLower(s); l {
	case "debug", "info", "warn", "error":
		return v.l.UnmarshalText([]byte(l))
	}
	return fmt.Errorf("want debug, info, warn or error")
}

// numberValue is a number that check accepts (a positive count, a share).
type numberValue[T int | int64 | float64] struct {
	n     *T
	check func(T) error
	typ   string
}

func (v numberValue[T]) Type() string   { return v.typ }
func (v numberValue[T]) String() string { return fmt.Sprint(*v.n) }
func (v numberValue[T]) Set(s string) error {
	var x T
	var err error
	switch p := any(&x).(type) {
	case *int:
		*p, err = strconv.Atoi(s)
	case *int64:
		*p, err = strconv.ParseInt(s, 10, 64)
	case *float64:
		*p, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return fmt.Errorf("want a number (%s)", v.typ)
	}
	if err := v.check(x); err != nil {
		return err
	}
	*v.n = x
	return nil
}

func atLeast[T int | int64](p *T, low T, typ string) numberValue[T] {
	return numberValue[T]{p, func(x T) error {
		if x < low {
			return fmt.Errorf("want %v or more", low)
		}
		return nil
	}, typ}
}

func positive[T int | int64](p *T, typ string) numberValue[T] {
	return numberValue[T]{p, func(x T) error {
		if x <= 0 {
			return fmt.Errorf("want a positive number")
		}
		return nil
	}, typ}
}

// bytesValue is a positive number of bytes, or empty for none (0): the injector
// sets the variable from the container's limit, which may be absent.
type bytesValue struct{ n *int64 }

func (v bytesValue) Type() string { return "bytes" }
func (v bytesValue) String() string {
	if *v.n == 0 {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v bytesValue) Set(s string) error {
	if s == "" {
		*v.n = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a positive number of bytes")
	}
	*v.n = n
	return nil
}

// stringValue is a plain string; "" is a value too (it turns a listener off).
type stringValue struct{ s *string }

func (v stringValue) Type() string       { return "string" }
func (v stringValue) String() string     { return *v.s }
func (v stringValue) Set(s string) error { *v.s = s; return nil }

// boolValue is true or false, always given (--stream-request-bodies true), as the
// flag took it before it was typed.
type boolValue struct{ b *bool }

func (v boolValue) Type() string   { return "true|false" }
func (v boolValue) String() string { return strconv.FormatBool(*v.b) }
func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*v.b = b
	return nil
}

// durationValue is a Go duration (1500ms, 2s, 1m) of at least min.
type durationValue struct {
	d   *time.Duration
	min time.Duration
}

func (v durationValue) Type() string   { return "duration" }
func (v durationValue) String() string { return v.d.String() }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 2s or 500ms")
	}
	if d < v.min {
		if v.min == 1 {
			return fmt.Errorf("want a positive duration")
		}
		return fmt.Errorf("want a duration of at least %s", v.min)
	}
	*v.d = d
	return nil
}

// modeOf is the inbound mode of the --mode word: "" means STRICT when there is an
// HBONE listener (peers come over mTLS; plaintext is refused), else PERMISSIVE.
func modeOf(s string, hbone bool) inbound.Mode {
	if s == "STRICT" || s == "" && hbone {
		return inbound.Strict
	}
	return inbound.Permissive
}

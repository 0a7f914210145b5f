package rego

// InputDecoder decodes inputs as DecodeInput does, reusing what repeats between
// them: a replay decodes a million logged inputs that share their principals,
// labels, hosts and header names. The Envoy-shaped inputs every decision log holds
// are read straight into an Input in one pass, with no intermediate map; anything
// that pass does not take exactly as DecodeInput would (an escaped key, a key given
// twice, a label or header name that is not lower-case ASCII, a raw body, invalid
// UTF-8, any syntax error, another form) goes through DecodeInput, which then also
// gives the error. FuzzInputDecoder holds the two to the same result.
//
// The inputs it returns share label and header maps read from the same JSON:
// treat them as read-only. An InputDecoder is not safe for concurrent use: give
// each goroutine its own.
type InputDecoder struct {
	strs map[string]string            // interned values, up to maxInterned
	maps map[string]map[string]string // labels and headers by their JSON, up to maxInterned
	buf  []byte                       // an address being joined
}

// maxInterned and maxInternLen bound an InputDecoder's memory: a stream of
// distinct values (request ids) stops being remembered once the table is full.
const (
	maxInterned     = 4096
	maxInternLen    = 128
	maxInternMapLen = 1024
)

// NewInputDecoder returns an InputDecoder.
func NewInputDecoder() *InputDecoder {
	return &InputDecoder{strs: make(map[string]string), maps: make(map[string]map[string]string)}
}

// Decode returns the input DecodeInput(raw) returns, or its error.
func (d *InputDecoder) Decode(raw []byte) (*Input, error) {
	if in, ok := d.fast(raw); ok {
		return in, nil
	}
	di, err := DecodeInput(raw)
	return di.Input, err
}

// fast decodes an Envoy-shaped input (see decodeEnvoy) or reports false.
func (d *InputDecoder) fast(raw []byte) (*Input, bool) {
	p := &fastParser{b: raw}
	in := &Input{}
	var (
		seen                     uint8
		opa, bodyRead, truncated bool
		ok                       bool
	)
	if !p.open() {
		return nil, false
	}
	for first := true; ; first = false {
		key, done, valid := p.member(first)
		if !valid {
			return nil, false
		}
		if done {
			break
		}
		switch string(key) {
		case "attributes":
			ok = once(&seen, 1) && d.attributes(p, in)
		case "truncated_body":
			opa, bodyRead = true, true
			ok = once(&seen, 2)
			switch {
			case p.lit("true"):
				truncated = true
			case !p.lit("false"):
				ok = false // DecodeInput's error: not a boolean
			}
		case "parsed_body":
			opa, bodyRead = true, true
			ok = p.skip(0)
		case "parsed_path", "parsed_query", "version", "source_principal":
			opa = true
			ok = p.skip(0)
		case "decision_id", "input":
			ok = false // maybe a decision-log line: DecodeInput tells
		default:
			ok = p.skip(0) // dropped
		}
		if !ok {
			return nil, false
		}
	}
	p.ws()
	if seen&1 == 0 || p.i != len(p.b) {
		return nil, false
	}
	if r := in.Request; r != nil {
		if r.Body == nil && (bodyRead || !opa) { // as decodeEnvoy
			r.Body = []byte{}
		}
		r.BodyTruncated = truncated || r.Headers["x-envoy-auth-partial-body"] == "true"
	}
	return in, true
}

// once marks bit in seen, reporting false when it was already set (a key given
// twice, which encoding/json reads as the last one).
func once[T uint8 | uint16](seen *T, bit T) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (d *InputDecoder) attributes(p *fastParser, in *Input) bool {
	if !p.open() {
		return false // null or not an object: DecodeInput's error
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "source":
			ok = once(&seen, 1) && d.peer(p, &in.Source)
		case "destination":
			ok = once(&seen, 2) && d.peer(p, &in.Destination)
		case "request":
			ok = once(&seen, 4) && d.request(p, in)
		default:
			ok = p.skip(1)
		}
		if !ok {
			return false
		}
	}
}

func (d *InputDecoder) peer(p *fastParser, peer *Peer) bool {
	if p.lit("null") {
		return true
	}
	if !p.open() {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "principal":
			ok = once(&seen, 1) && d.str(p, &peer.Principal, true)
		case "labels":
			ok = once(&seen, 2) && d.strMap(p, &peer.Labels)
		case "address":
			ok = once(&seen, 4) && d.address(p, &peer.Address)
		default:
			ok = p.skip(2)
		}
		if !ok {
			return false
		}
	}
}

// socketAddr is one spelling of Envoy's socket address as read.
type socketAddr struct {
	set, null  bool // the key was given; its value was null
	host, port []byte
	portSet    bool // portValue (or port_value) was given and not null
}

// address reads {socketAddress|socket_address: {address, portValue|port_value}}
// into "host:port" as net.JoinHostPort spells it; the camelCase key wins when
// both are given, as in decodeEnvoy.
func (d *InputDecoder) address(p *fastParser, dst *string) bool {
	if p.lit("null") {
		return true
	}
	if !p.open() {
		return false
	}
	var camel, snake socketAddr
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch string(key) {
		case "socketAddress":
			ok = !camel.set && d.socketAddr(p, &camel)
		case "socket_address":
			ok = !snake.set && d.socketAddr(p, &snake)
		default:
			ok = p.skip(3)
		}
		if !ok {
			return false
		}
	}
	sa := camel
	if !camel.set {
		sa = snake
	}
	if !sa.set || sa.null {
		return true
	}
	port := sa.port
	if !sa.portSet {
		port = zeroPort
	}
	b := d.buf[:0]
	if indexByte(sa.host, ':') >= 0 {
		b = append(append(append(b, '['), sa.host...), ']')
	} else {
		b = append(b, sa.host...)
	}
	b = append(append(b, ':'), port...)
	d.buf = b
	*dst = d.intern(b)
	return true
}

// zeroPort is the port of an address given without one, as decodeEnvoy spells it.
var zeroPort = []byte("0")

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func (d *InputDecoder) socketAddr(p *fastParser, sa *socketAddr) bool {
	sa.set = true
	if p.lit("null") {
		sa.null = true
		return true
	}
	if !p.open() {
		return false
	}
	var camelPort, snakePort struct {
		set, null bool
		text      []byte
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch string(key) {
		case "address":
			ok = once(&seen, 1) && d.strBytes(p, &sa.host)
		case "portValue":
			ok = !camelPort.set && p.port(&camelPort.text, &camelPort.null)
			camelPort.set = true
		case "port_value":
			ok = !snakePort.set && p.port(&snakePort.text, &snakePort.null)
			snakePort.set = true
		default: // protocol and the rest
			ok = p.skip(4)
		}
		if !ok {
			return false
		}
	}
	port := camelPort
	if !camelPort.set {
		port = snakePort
	}
	sa.port, sa.portSet = port.text, port.set && !port.null
	return true
}

// port reads a port value: a number (its literal text), a string (proto JSON may
// quote integers) or null.
func (p *fastParser) port(text *[]byte, null *bool) bool {
	if p.lit("null") {
		*null = true
		return true
	}
	if p.i >= len(p.b) {
		return false
	}
	if c := p.b[p.i]; c == '-' || c >= '0' && c <= '9' {
		start := p.i
		if !p.skipNumber() {
			return false
		}
		*text = p.b[start:p.i]
		return true
	}
	s, escaped, ok := p.rawString()
	if !ok || escaped || !validUTF8(s) {
		return false
	}
	*text = s
	return true
}

func (d *InputDecoder) request(p *fastParser, in *Input) bool {
	if p.lit("null") {
		return true
	}
	if !p.open() {
		return false
	}
	seen := false
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok || done {
			return ok
		}
		if string(key) == "http" {
			ok = !seen && d.http(p, in)
			seen = true
		} else {
			ok = p.skip(3)
		}
		if !ok {
			return false
		}
	}
}

func (d *InputDecoder) http(p *fastParser, in *Input) bool {
	if p.lit("null") {
		return true
	}
	if !p.open() {
		return false
	}
	r := &Request{}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch string(key) {
		case "method":
			ok = once(&seen, 1) && d.str(p, &r.Method, true)
		case "path":
			ok = once(&seen, 2) && d.str(p, &r.Path, false)
		case "host":
			ok = once(&seen, 4) && d.str(p, &r.Host, true)
		case "scheme":
			ok = once(&seen, 8) && d.str(p, &r.Scheme, true)
		case "protocol":
			ok = once(&seen, 16) && d.str(p, &r.Protocol, true)
		case "headers":
			ok = once(&seen, 32) && d.strMap(p, &r.Headers)
		case "body":
			var s string
			ok = once(&seen, 64) && d.str(p, &s, false)
			r.Body = []byte(s) // null is an empty body, as in decodeEnvoy
		case "rawBody", "raw_body":
			ok = false // rare: DecodeInput decodes and prefers between body and rawBody
		default:
			ok = p.skip(4)
		}
		if !ok {
			return false
		}
	}
	in.Request = r
	return true
}

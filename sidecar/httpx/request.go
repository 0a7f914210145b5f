package httpx

import "bufio"

// Field is one header field as forwarded: a valid token name (case as received) and a
// value without surrounding whitespace.
type Field struct {
	Name, Value string
}

// Request is one parsed, validated and normalized HTTP/1.x request head. Framing and
// hop-by-hop fields are not in Header; the proxy regenerates them when forwarding.
type Request struct {
	Method string // upper-case token
	Path   string // normalized, starts with "/"
	Query  string // raw query without "?", validated, "" when absent
	Proto  string // "HTTP/1.0" or "HTTP/1.1"
	Host   string // normalized (lower case, no trailing dot, no default port)
	Header []Field
	// ContentLength is the body length, or -1 for a chunked body.
	ContentLength int64
	// Close is set when the client will not send another request on the connection.
	Close bool
	// Upgrade is the Upgrade field of a "Connection: upgrade" request (e.g.
	// "websocket"); h2c upgrades are dropped, so it is never "h2c".
	Upgrade string
	// Expect100 is set for "Expect: 100-continue"; the field itself is not forwarded.
	Expect100 bool

	fieldBuf [6]Field // backs Header for a typical request: no allocation of its own
}

// Target is the origin-form request target that is authorized and forwarded.
func (r *Request) Target() string {
	if r.Query == "" {
		return r.Path
	}
	return r.Path + "?" + r.Query
}

// Chunked reports whether the body uses chunked transfer coding.
func (r *Request) Chunked() bool { return r.ContentLength < 0 }

// Headers returns the forwarded fields keyed by lower-case name, repeated fields
// joined with "," (the policy input's shape).
func (r *Request) Headers() map[string]string {
	m := make(map[string]string, len(r.Header)+1)
	var buf [64]byte
	for _, f := range r.Header {
		k := lowerKey(&buf, f.Name)
		if v, ok := m[k]; ok {
			m[k] = v + "," + f.Value
		} else {
			m[k] = f.Value
		}
	}
	return m
}

// lowerKey is strings.ToLower(name) without a copy when name is already lower case
// or a common field name: a lowered copy per field was an allocation per field and
// request.
func lowerKey(buf *[64]byte, name string) string {
	k := lowerName(buf, name)
	if string(k) == name {
		return name
	}
	if common, ok := commonFields[string(k)]; ok {
		return common
	}
	return string(k)
}

// commonFields interns the lower-case names of request fields most clients send.
var commonFields = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"accept", "accept-encoding", "accept-language", "authorization",
		"cache-control", "content-type", "cookie", "origin", "pragma", "referer", "user-agent",
		"x-request-id", "traceparent", "tracestate", "x-b3-traceid", "x-b3-spanid",
		"x-b3-sampled", "grpc-timeout", "if-none-match", "if-modified-since", "range",
		"sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest", "dnt", "priority"} {
		m[k] = k
	}
	return m
}()

// ReadRequest reads one request head from br. It returns io.EOF when the connection
// ends cleanly before a request starts, and *Error for anything it refuses.
func ReadRequest(br *bufio.Reader, cfg Config) (*Request, error) {
	cfg.setDefaults()
	lr := lineReader{br: br, budget: cfg.MaxHeaderBytes}
	line, err := lr.requestLine()
	if err != nil {
		return nil, err
	}
	req, rawTarget, err := parseRequestLine(line)
	if err != nil {
		return nil, err
	}
	// The target shares the fields' string (one allocation for the head).
	fields, target, err := lr.fieldsAfter(cfg.MaxHeaders, req.fieldBuf[:0], rawTarget)
	if err != nil {
		return nil, err
	}
	var h head
	classify(&h, fields, true)
	if err := applyFraming(req, &h, cfg.MaxBodyBytes); err != nil {
		return nil, err
	}
	if err := applyTarget(req, target, &h.host, cfg); err != nil {
		return nil, err
	}
	applyConnection(req, &h)
	if req.Upgrade != "" && req.ContentLength != 0 {
		// Bytes after an upgrade request belong to the new protocol; a body would
		// be read by the app as the start of it.
		return nil, badRequest("upgrade request with a body")
	}
	return req, nil
}

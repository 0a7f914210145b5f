package rego

// Input is what the proxy knows about one request (or one L4 connection). The engine
// turns it into OPA-Envoy's ext_authz input shape:
//
//	input.attributes.source.{principal,labels,address}
//	input.attributes.destination.{principal,labels,address}
//	input.attributes.request.http.{method,path,host,headers,scheme,protocol,body,raw_body}
//	input.parsed_path, input.parsed_query, input.parsed_body, input.truncated_body
//
// An empty string or map is absent from the input, never an empty value (see the
// package doc). The proxy normalizes the request before filling Input; the engine
// does not.
type Input struct {
	Source      Peer `json:"source"`
	Destination Peer `json:"destination"`
	// Request is nil for an L4 (non-HTTP) connection.
	Request *Request `json:"request,omitempty"`
}

// Peer is one end of the connection.
type Peer struct {
	// Principal is the peer's SPIFFE ID, or "" when unauthenticated.
	Principal string `json:"principal,omitempty"`
	// Labels are the peer pod's labels (trusted by the caller).
	Labels map[string]string `json:"labels,omitempty"`
	// Address is "ip:port".
	Address string `json:"address,omitempty"`
}

// Request is one normalized HTTP request.
type Request struct {
	Method string `json:"method"` // upper case
	// Path is the normalized path plus "?query" when there is one; the engine
	// derives parsed_path and parsed_query from it.
	Path     string            `json:"path"`
	Host     string            `json:"host,omitempty"`     // lower case, no default port, no trailing dot
	Headers  map[string]string `json:"headers,omitempty"`  // lower-case names; repeated values joined with ","
	Scheme   string            `json:"scheme,omitempty"`   // "http" or "https"
	Protocol string            `json:"protocol,omitempty"` // "HTTP/1.1", "HTTP/2"
	// Body is the request body as buffered for the policy: nil (absent from the
	// input) unless the loaded policy reads bodies (Engine.BodyPolicy); an empty
	// non-nil slice is an empty body.
	Body []byte `json:"-"`
	// BodyTruncated says Body holds only the first BodyPolicy().MaxBytes bytes of a
	// longer body (input.truncated_body).
	BodyTruncated bool `json:"-"`
}

// Field is one name and value: a header field (lower-case name) or a query
// parameter. A name may repeat (a policy gave an array of values): every value is
// applied, in order, the first replacing any existing field of that name.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// BodyPolicy says whether the loaded policy reads request bodies, and how much of a
// body the proxy buffers for it.
type BodyPolicy struct {
	// Read is true when some loaded policy references the body
	// (input.parsed_body, input.truncated_body, input.attributes.request.http.body
	// or raw_body) and body buffering is enabled: only then does the proxy buffer.
	Read bool
	// MaxBytes is how much of a body is buffered; a longer body is cut there and
	// BodyTruncated is set.
	MaxBytes int
}

// Decision is the outcome of one evaluation. Allowed is false unless the policy
// allowed the request (or dry-run turned a deny into an allow, see DryRun).
type Decision struct {
	ID         string // decision_id, also in the decision log
	Allowed    bool   // forward or not
	HTTPStatus int    // deny status, 403 unless the policy says otherwise
	Body       string // deny body, "Access denied" unless the policy says otherwise
	// Headers: on a deny, response headers from the policy; on an allow, header
	// fields set on the forwarded request (OPA-Envoy "headers": each replaces any
	// field of that name). Names lower-case, in a stable order.
	Headers []Field
	// RequestHeadersToRemove (allow only) are lower-case header names removed from
	// the forwarded request.
	RequestHeadersToRemove []string
	// ResponseHeadersToAdd (allow only) are added to the app's response.
	ResponseHeadersToAdd []Field
	// QueryParametersToSet (allow only) replace or add parameters of the forwarded
	// query; QueryParametersToRemove removes them by name.
	QueryParametersToSet    []Field
	QueryParametersToRemove []string
	// DynamicMetadata is recorded in the decision log and otherwise unused.
	DynamicMetadata map[string]any
	Reason          string // why: the policy's reason, or the failure that denied
	Revision        string // bundle revision the decision was made with
	DryRun          bool   // the policy denied but dry-run let the request through
	// Shadow is the verdict of the shadow engine (WithShadow), nil without one.
	Shadow *ShadowVerdict
}

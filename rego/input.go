package rego

// Input is what the proxy knows about one request (or one L4 connection). The engine
// turns it into OPA-Envoy's ext_authz input shape:
//
//	input.attributes.source.{principal,labels,address}
//	input.attributes.destination.{principal,labels,address}
//	input.attributes.request.http.{method,path,host,headers,scheme,protocol}
//	input.parsed_path, input.parsed_query
//
// The proxy normalizes the request before filling Input; the engine does not.
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
}

// Decision is the outcome of one evaluation. Allowed is false unless the policy
// allowed the request (or dry-run turned a deny into an allow, see DryRun).
type Decision struct {
	ID         string            // decision_id, also in the decision log
	Allowed    bool              // forward or not
	HTTPStatus int               // deny status, 403 unless the policy says otherwise
	Body       string            // deny body, "Access denied" unless the policy says otherwise
	Headers    map[string]string // extra response headers from the policy
	Reason     string            // why: the policy's reason, or the failure that denied
	Revision   string            // bundle revision the decision was made with
	DryRun     bool              // the policy denied but dry-run let the request through
}

package rego

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// requestJSON is Request as Rampart's own input JSON spells it (`rampart policy eval`,
// test cases): the body as "body" (text) or "raw_body" (base64, for bytes that are
// not UTF-8), and "truncated_body".
type requestJSON struct {
	Method        string            `json:"method"`
	Path          string            `json:"path"`
	Host          string            `json:"host,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	Scheme        string            `json:"scheme,omitempty"`
	Protocol      string            `json:"protocol,omitempty"`
	Body          *string           `json:"body,omitempty"`
	RawBody       []byte            `json:"raw_body,omitempty"`
	TruncatedBody bool              `json:"truncated_body,omitempty"`
}

// UnmarshalJSON reads a request, refusing unknown fields: a misspelt field would
// silently change the decision.
func (r *Request) UnmarshalJSON(b []byte) error {
	var j requestJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if j.Body != nil && j.RawBody != nil {
		return fmt.Errorf("request: both body and raw_body")
	}
	*r = Request{Method: j.Method, Path: j.Path, Host: j.Host, Headers: j.Headers,
		Scheme: j.Scheme, Protocol: j.Protocol, BodyTruncated: j.TruncatedBody}
	switch {
	case j.Body != nil:
		r.Body = []byte(*j.Body)
	case j.RawBody != nil:
		r.Body = j.RawBody
	}
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (r Request) MarshalJSON() ([]byte, error) {
	j := requestJSON{Method: r.Method, Path: r.Path, Host: r.Host, Headers: r.Headers,
		Scheme: r.Scheme, Protocol: r.Protocol, TruncatedBody: r.BodyTruncated}
	switch {
	case r.Body == nil:
	case utf8.Valid(r.Body):
		s := string(r.Body)
		j.Body = &s
	default:
		j.RawBody = r.Body
	}
	return json.Marshal(j)
}

// Package rego is Rampart's policy engine: it loads OPA bundles, prepares the decision
// query once per bundle revision, and evaluates it per request against an input shaped
// like the OPA-Envoy plugin's, failing closed. It also writes decision logs and exports
// Prometheus metrics. It depends on OPA only.
//
// # Use
//
//	e, err := rego.New(                            // functional options, all optional
//		rego.WithDecision("data.rampart.authz.allow"), // the default
//		rego.WithDecisionLog(w),                       // one JSON line per decision
//		rego.WithMetrics(registry),                    // prometheus.Registerer
//	)
//	err = e.LoadDir(ctx, "main", "/etc/rampart/policy") // or LoadFS (embedded), LoadFile
//	                                                    // (.tar.gz), LoadTarball (reader)
//	go e.Poll(ctx, "main", rego.PollOptions{URL: u})   // or keep it in sync with an HTTP
//	                                                    // bundle service (ETag, backoff)
//	d := e.Decide(ctx, &rego.Input{...})               // never fails open
//	if !d.Allowed { /* answer d.HTTPStatus, d.Body, d.Headers */ }
//
// Ready reports whether a bundle is loaded; Revision names the revision of the bundle
// owning the decision path (Revisions lists all). Explain traces one decision for
// people (`rampart policy explain`). Build writes a directory as a (signed) .tar.gz
// with OPA's compiler; VerificationKey makes the config WithVerification wants.
//
// Several named bundles may be active at once (e.g. a policy and a library); each load
// replaces the bundle of that name. Their roots must not overlap.
//
// # Input: OPA-Envoy's, absent means absent
//
// The input has the shape OPA-Envoy gives its policies (see Input). A field Rampart
// does not know is left out, never set empty: an unauthenticated peer has no
// source.principal, a pod without labels no labels, a request without Host no host,
// so `deny if not input.attributes.source.principal` fires as it does behind Envoy.
//
// parsed_path is derived as OPA-Envoy derives it: the path before "?" is unescaped
// as a whole, then split on "/" after its leading slashes; parsed_query is
// url.ParseQuery of the rest. A path or query that does not parse denies
// ([ErrBadInput]; the proxy answers 400 before asking). What parsed_path holds for
// the encoded slashes depends on the proxy's slash rule (sidecar/httpx.SlashRule),
// applied before the engine sees the path:
//
//	slash rule          request path     http.path         parsed_path
//	RejectSlashes       /a%2Fb, /a\b     (400, no decision)
//	KeepSlashesEncoded  /a%2Fb           /a%2Fb            ["a", "b"]   (as OPA-Envoy)
//	KeepSlashesEncoded  /a\b             /a%5Cb            ["a\\b"]
//	DecodeSlashes       /a%2Fb, /a\b     /a/b              ["a", "b"]
//	any                 /a%252Fb         /a%252Fb          ["a%2Fb"]
//	any                 /a//b/./c/..     /a/b              ["a", "b"]
//	any                 /                /                 [""]
//	any                 /a/              /a/               ["a", ""]
//
// # Request bodies
//
// As OPA-Envoy's with_request_body: turned on for every bundle by [WithRequestBody]
// or by a bundle's manifest, {"metadata": {"rampart": {"request_body": {"max_bytes":
// 8192}}}}. [Engine.BodyPolicy] tells the proxy to buffer only when that is so and
// the compiled policy references a body field (input.parsed_body, input.truncated_body,
// http.body, http.raw_body). A read body appears as http.body (UTF-8 text) or
// http.raw_body and http.rawBody (base64, for other bytes), input.parsed_body (JSON,
// +json, form and multipart/form-data fields; null otherwise) and input.truncated_body.
// A cut body, or one shorter than its Content-Length, is truncated and not parsed; a
// body that does not parse as its content type denies ([ErrBadInput]), as OPA-Envoy's
// failed Check makes Envoy deny. The decision cache keys on the body whenever the
// policy reads it, and never stores decisions on bodies over 2 kB.
//
// # Decisions
//
// A decision is a boolean or an object. Besides allowed, http_status, body, headers
// and reason, the object's allow-side fields are read as OPA-Envoy reads them and
// returned for the proxy to apply: headers (set on the forwarded request on an allow,
// response headers on a deny), request_headers_to_remove, response_headers_to_add,
// query_parameters_to_set, query_parameters_to_remove, and dynamic_metadata (logged).
// headers and response_headers_to_add are an object or an array of objects whose
// values are a string or an array of strings. A field of the wrong type, a status
// that is not an HTTP status, or a header name or value that could split a header
// denies ([ErrBadDecision]), never ignored.
//
// # OPA-Envoy compatibility
//
// TestOPAEnvoyCompat decides OPA-Envoy-style policies (JWT, parsed_path/query,
// parsed_body, object decisions) with the engine and with OPA fed OPA-Envoy's input
// for the same Envoy CheckRequests. Differences, all on purpose:
//   - "+json" media types (application/problem+json) are parsed; OPA-Envoy parses
//     only content types containing application/json.
//   - input.version and input.source_principal are not set; request fields Envoy
//     has and Rampart does not (request.time, http.id, size, context extensions) are
//     absent.
//   - a cut body is known from the proxy (BodyTruncated), not from a client-sendable
//     x-envoy-auth-partial-body header; gRPC bodies are not parsed (null).
//   - every decision field is type-checked whatever the outcome (OPA-Envoy reads
//     allow-side fields only on an allow, http_status and body only on a deny), and
//     header names are lower-cased.
//   - a deny without a body answers "Access denied" (OPA-Envoy: empty).
//
// DecodeInput reads an input given as Rampart's Input, OPA-Envoy's input, an Envoy
// CheckRequest (proto JSON) or a decision-log line, for `rampart policy eval`.
//
// # Fail closed
//
// Decide returns a deny (403, "Access denied") when no bundle is loaded
// ([ErrNoBundle]) or none owns the decision path ([ErrDecisionOutsideRoots]; such a
// load is an error and Ready stays false), the decision is undefined ([ErrUndefined]),
// evaluation fails or exceeds the timeout ([ErrTimeout]), the request cannot be put
// into the input ([ErrBadInput]), or the decision is malformed ([ErrBadDecision]).
// Reason says which.
// A refused bundle update ([BundleError]: syntax error, bad signature, overlapping
// roots, unsafe tar paths, a tarball without .manifest) leaves the last good revision
// serving. A directory without a .manifest (as OPA-Envoy's examples ship) loads with
// roots derived from its packages and data; the decision may also be given in
// OPA-Envoy's path form, "envoy/authz/allow".
//
// # Egress
//
// The same bundles may decide traffic leaving the mesh: [Engine.DecideEgress]
// evaluates [EgressDecision] (data.rampart.egress.allow) over an [EgressInput]
// (input.source.{principal,namespace,labels}, input.destination.{host,sni,ip,port,
// protocol}, input.request.{method,path,host}); its value is a boolean or the same
// decision object. [Engine.EgressEnforced] says whether egress is decided at all for
// a source: only when some module defines a rule at that path and, if the policy
// defines data.rampart.egress.enforced, that rule is true for the source. With no
// egress rule, outbound traffic passes through as before; with one, it is
// default-deny (undefined, errors and timeouts deny). Egress decisions are in the
// decision log under path rampart/egress/allow and are not cached.
//
// # Dry-run
//
// With [WithDryRun], or a bundle manifest carrying
// {"metadata": {"rampart": {"dry_run": true}}}, a policy deny is logged and counted as
// a deny but returned with Allowed and DryRun set. Engine failures still deny.
//
// # Speed
//
// Decide builds the input directly as an OPA ast.Value holding only the input paths
// the compiled policy can read (string values equal to policy constants reuse shared
// terms), evaluates the query compiled once per revision straight through topdown
// with a read transaction held for the revision's life and a one-allocation rule
// cache, and takes no lock: loads swap a new revision in with one atomic pointer store.
//
// Each revision also remembers up to [DefaultDecisionCache] decisions keyed on that
// pruned input ([WithDecisionCache]), so a repeated request is answered without
// evaluating. The key is encoded straight from the Input (length-prefixed fields,
// presence bytes), the ast input is built only on a miss, and lookups take no lock
// and allocate nothing. A revision whose policies call a builtin OPA marks non-deterministic
// (time.now_ns, http.send, rand.intn, ...) is never cached; a new revision starts empty.
package rego

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
// # Fail closed
//
// Decide returns a deny (403, "Access denied") when no bundle is loaded
// ([ErrNoBundle]), the decision is undefined ([ErrUndefined]), evaluation fails or
// exceeds the timeout ([ErrTimeout]), or the decision is neither a boolean nor an object
// {allowed, http_status, body, headers, reason} ([ErrBadDecision]). Reason says which.
// A refused bundle update ([BundleError]: syntax error, bad signature, overlapping
// roots, unsafe tar paths, no .manifest) leaves the last good revision serving.
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

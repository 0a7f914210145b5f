// Package decisionlog reads decision logs back: Rampart's own (one JSON line per
// decision, OPA's decision-log fields plus a "rampart" object) and OPA's, as
// OPA-Envoy deployments write them (console lines, or the gzipped JSON arrays OPA
// uploads to a decision-log service). Files may be plain or gzip; the format is
// told by the content, not the name.
//
// It also names what a decision was about in the terms people group traffic by:
// the source and destination workload (namespace/service account from the SPIFFE
// ID, else labels, else the address) and the path template, where identifiers
// (numbers, UUIDs, hashes) become one-segment wildcards. `rampart policy replay`
// groups changes by these, and `rampart policy suggest` writes rules from them.
//
// The recorded outcome of a decision is what the proxy did with the request: a
// deny let through by dry-run counts as allowed, because the traffic happened. A
// candidate policy that denies it would break that traffic.
package decisionlog

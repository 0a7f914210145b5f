// Package suggest writes a policy bundle from observed traffic: `rampart policy
// suggest`.
//
// Every allowed decision of the logs becomes part of a flow: source workload,
// destination workload, method and path template. The bundle allows exactly those
// flows and denies everything else (default deny). Workloads are matched by their
// SPIFFE ID when they had one, else by their stable labels, else by address; path
// segments that look like identifiers (numbers, UUIDs, hashes; see
// decisionlog.Kind) are generalized to a one-segment wildcard of their kind, and
// each generalization is explained in a comment above its rule with the values
// observed. The query string is never part of a rule.
//
// The bundle is meant to be read and edited: one Rego rule per flow, workloads
// named once in data.json, and a generated *_test.rego with one allowed example
// per rule and denied neighbours (another method, an unknown caller, a malformed
// identifier).
package suggest

package rego

import (
	"errors"
	"fmt"
)

// Outcomes a caller (or a test) may branch on. Decide never returns them; it folds
// them into a denying Decision whose Reason starts with the error text.
var (
	// ErrNoBundle: no bundle has been loaded yet, so there is nothing to decide with.
	ErrNoBundle = errors.New("no policy bundle loaded")
	// ErrUndefined: the decision path produced no value for this input.
	ErrUndefined = errors.New("decision undefined")
	// ErrTimeout: evaluation did not finish within the configured timeout.
	ErrTimeout = errors.New("evaluation timed out")
	// ErrBadDecision: the policy returned something that is neither a boolean nor a
	// decision object.
	ErrBadDecision = errors.New("malformed decision")
	// ErrBadInput: the request cannot be put into the input as OPA-Envoy would (a path
	// or query that does not parse, a body that does not parse as its content type).
	// OPA-Envoy's Check fails on these and Envoy denies; so does the engine.
	ErrBadInput = errors.New("bad request input")
	// ErrDecisionOutsideRoots: no active bundle's manifest roots contain the decision
	// path, so no policy can ever define it. The engine is not Ready.
	ErrDecisionOutsideRoots = errors.New("decision path outside every bundle's roots")
	// ErrNotModified: an HTTP bundle service answered 304; the active revision stays.
	ErrNotModified = errors.New("bundle not modified")
	// ErrBundleTooLarge: a bundle download exceeded PollOptions.MaxBytes; it is
	// refused (inside a BundleError) and the active revision stays.
	ErrBundleTooLarge = errors.New("bundle download too large")
)

// BundleError says why a bundle update was refused. The engine keeps serving the last
// good revision when it returns one.
type BundleError struct {
	Bundle string // bundle name given to the load call
	File   string // file inside the bundle at fault, when one is known
	Err    error
}

func (e *BundleError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("bundle %q: %s: %v", e.Bundle, e.File, e.Err)
	}
	return fmt.Sprintf("bundle %q: %v", e.Bundle, e.Err)
}

func (e *BundleError) Unwrap() error { return e.Err }

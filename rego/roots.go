package rego

import (
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// derivedRoots gives a bundle without a .manifest the roots its files occupy, as
// `opa run` treats a directory of policies: each module's package path, then the
// paths of its data that no package root covers, with roots under another root
// dropped (a manifest's roots must not overlap). A bundle claiming the whole data
// tree would silently take every decision path; this claims only what it defines.
func derivedRoots(b *bundle.Bundle) []string {
	var roots []string
	for _, m := range b.Modules {
		roots = append(roots, refPath(m.Parsed.Package.Path))
	}
	roots = append(roots, dataRoots(b.Data, "", roots)...)
	sort.Strings(roots)
	var out []string
	for _, r := range roots {
		if len(out) > 0 && under(r, out[len(out)-1]) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// dataRoots returns the shallowest paths of data that hold no package root below
// them (so data and policy roots stay disjoint).
func dataRoots(data map[string]any, prefix string, pkgs []string) []string {
	var out []string
	for k, v := range data {
		p := k
		if prefix != "" {
			p = prefix + "/" + k
		}
		child, isObj := v.(map[string]any)
		switch {
		case !holdsRoot(p, pkgs):
			out = append(out, p)
		case isObj:
			out = append(out, dataRoots(child, p, pkgs)...)
		}
	}
	return out
}

func holdsRoot(p string, roots []string) bool {
	for _, r := range roots {
		if under(r, p) || under(p, r) {
			return true
		}
	}
	return false
}

// under reports whether path p is root r or below it.
func under(p, r string) bool { return p == r || strings.HasPrefix(p, r+"/") }
